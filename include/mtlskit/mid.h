/*
 * mid.h - the ServiceNow MID Server policy, decided in one place: the alias
 * its key pair lives under, the agent directory and where its keystore is,
 * the keystore's default password and when that default may be tried.
 *
 * Codecs never guess a password.  A caller that reads a file on the user's
 * behalf asks mtk_mid_default_for() and hands what it gets to the loader
 * (mtk_load_opts.default_pass) or the keystore reader; `check`, `mid`,
 * `expiry`, `track` and the loader all go through here.
 */
#ifndef MTLSKIT_MID_H
#define MTLSKIT_MID_H

#include <stdbool.h>

#include "mtlskit/err.h"
#include "mtlskit/pass.h"

/* The alias manage-certificates installs the MID Server's key pair under. */
#define MTK_MID_ALIAS "defaultsecuritykeypairhandle"
/* A regular file every installed agent directory has beside bin/, conf/
 * and security/: what tells an agent directory apart. */
#define MTK_MID_AGENT_MARK "config.xml"
/* The agent keystore, relative to the agent directory, and its file name. */
#define MTK_MID_KEYSTORE      "security/agent_keystore.jks"
#define MTK_MID_KEYSTORE_NAME "agent_keystore.jks"
/* The keystore password the MID Server ships with (the JDK's default). */
#define MTK_MID_DEFAULT_PASS "changeit"

/* The default password as a secret (static storage: never free it). */
const mtk_secret *mtk_mid_default_pass(void);

/* True when path names a MID agent keystore: its last component is
 * exactly agent_keystore.jks. */
bool mtk_mid_is_agent_keystore(const char *path);

/* When the MID default may be tried, by what the caller is doing. */
typedef enum mtk_mid_use {
	/* Reading a file on the user's behalf (inspect, check, convert,
	 * bundle, expiry, the loader): only an agent keystore, by name, so no
	 * other store is opened with a guessed password. */
	MTK_MID_READ,
	/* A store the user named as one (keystore ..., mid install|show, a
	 * tracked keystore): tried after --pass on any store, and a new
	 * store is created with it (what the MID Server expects;
	 * docs/keystore.md). */
	MTK_MID_KEYSTORE_VERB,
} mtk_mid_use;

/* The password to try for path when the user gave none (or, for
 * MTK_MID_KEYSTORE_VERB, when --pass failed): the MID default when use
 * allows it for path, else NULL. */
const mtk_secret *mtk_mid_default_for(mtk_mid_use use, const char *path);

/*
 * The MID Server's agent directory (the one manage-certificates runs from:
 * /opt/servicenow/<mid>/agent, C:\ServiceNow\<mid>\agent).  It is told
 * apart by its config.xml.  On success *keystore_path (the caller frees
 * it) is "DIR/security/agent_keystore.jks", which may not exist yet.
 * Errors: MTK_E_NOENT (no such directory), MTK_E_NOT_FOUND (DIR has no
 * config.xml: the message names the file looked for and, when
 * DIR/agent/config.xml exists, DIR/agent as the agent directory),
 * MTK_E_NOMEM.  `mid install`, `mid show`, `check DIR` and `track` (mid
 * target) all use it, so they accept and refuse the same directories.
 */
MTK_WUR mtk_rc mtk_mid_agent_dir(const char *dir, char **keystore_path, mtk_err *err);

#endif
