/*
 * vcache.c - client chains already verified under this state.
 *
 * X509_verify_cert() costs a signature check per certificate of the chain
 * plus OpenSSL 3.0's chain building, name look-ups and algorithm fetches;
 * a client that reconnects without resuming (the MID Server's Java client,
 * curl in a loop) pays it on every handshake for the same bytes.  The result
 * of a successful verification depends only on the presented certificates,
 * the trust store, the CRLs, the gateway's own rules (CA:TRUE, EKU) and the
 * time.  Everything but the time is fixed for a gw_state (a reload builds a
 * new state, hence a new, empty cache), so an entry is keyed by a SHA-256
 * of the presented chain (gw_vcache_key) and carries the interval in which the verdict is
 * known to hold: from the moment it was verified until the first notAfter
 * of the verified chain or the first nextUpdate of a CRL, whichever comes
 * first.  Only successes are kept; a refusal always goes through OpenSSL
 * again, so its reason is logged as before.  Possession of the key (the
 * CertificateVerify signature) is checked by libssl in every handshake and
 * is not affected.
 *
 * Fixed size, 4-way sets, oldest entry of a set replaced; one mutex (the
 * section is a few compares).
 */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define WAYS 4

typedef struct {
	unsigned char key[32];
	int64_t verified_at; /* 0: empty */
	int64_t valid_until;
} vc_slot;

struct gw_vcache {
	pthread_mutex_t lock;
	size_t mask; /* sets - 1 */
	vc_slot *slot;
};

static EVP_MD *sha256;
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void sha_init(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

const EVP_MD *gw_sha256(void)
{
	pthread_once(&sha_once, sha_init);
	return sha256;
}

gw_vcache *gw_vcache_new(long entries)
{
	gw_vcache *vc;
	size_t sets = 1;

	if (entries <= 0)
		return NULL;
	while (sets * WAYS < (size_t)entries)
		sets <<= 1;
	vc = calloc(1, sizeof(*vc));
	if (vc == NULL)
		return NULL;
	vc->slot = calloc(sets * WAYS, sizeof(*vc->slot));
	if (vc->slot == NULL) {
		free(vc);
		return NULL;
	}
	vc->mask = sets - 1;
	pthread_mutex_init(&vc->lock, NULL);
	return vc;
}

void gw_vcache_free(gw_vcache *vc)
{
	if (vc == NULL)
		return;
	pthread_mutex_destroy(&vc->lock);
	free(vc->slot);
	free(vc);
}

/* Feeds x's DER to md, after its length (4 bytes, big-endian) when framed. */
static bool digest_der(EVP_MD_CTX *md, X509 *x, bool framed)
{
	unsigned char stackbuf[8192];
	unsigned char *der, *p;
	unsigned char be[4];
	int len = i2d_X509(x, NULL);
	bool ok;

	if (len <= 0)
		return false;
	der = (size_t)len <= sizeof(stackbuf) ? stackbuf : malloc((size_t)len);
	if (der == NULL)
		return false;
	p = der;
	be[0] = (unsigned char)(len >> 24);
	be[1] = (unsigned char)(len >> 16);
	be[2] = (unsigned char)(len >> 8);
	be[3] = (unsigned char)len;
	ok = i2d_X509(x, &p) == len && (!framed || EVP_DigestUpdate(md, be, 4) == 1) &&
	     EVP_DigestUpdate(md, der, (size_t)len) == 1;
	if (der != stackbuf)
		free(der);
	return ok;
}

/* The leaf is hashed alone first: its digest is the connection's identity
 * (the user map, the logs), so the handshake encodes and hashes it once.
 * A fixed-length digest in front needs no length frame. */
bool gw_vcache_key(STACK_OF(X509) *presented, unsigned char leaf[32], unsigned char key[32])
{
	const EVP_MD *sha = gw_sha256();
	EVP_MD_CTX *md;
	bool ok = false;
	int n = sk_X509_num(presented);

	if (sha == NULL || n <= 0 || (md = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestInit_ex(md, sha, NULL) != 1 ||
	    !digest_der(md, sk_X509_value(presented, 0), false) ||
	    EVP_DigestFinal_ex(md, leaf, NULL) != 1 || EVP_DigestInit_ex(md, sha, NULL) != 1 ||
	    EVP_DigestUpdate(md, leaf, 32) != 1)
		goto out;
	for (int i = 1; i < n; i++)
		if (!digest_der(md, sk_X509_value(presented, i), true))
			goto out;
	ok = EVP_DigestFinal_ex(md, key, NULL) == 1;
out:
	EVP_MD_CTX_free(md);
	return ok;
}

static vc_slot *set_of(gw_vcache *vc, const unsigned char key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return &vc->slot[(h & vc->mask) * WAYS];
}

bool gw_vcache_hit(gw_vcache *vc, const unsigned char key[32], int64_t now)
{
	bool hit = false;

	pthread_mutex_lock(&vc->lock);
	vc_slot *s = set_of(vc, key);
	for (int i = 0; i < WAYS; i++) {
		if (s[i].verified_at == 0 || memcmp(s[i].key, key, 32) != 0)
			continue;
		/* a clock set back before the verification is not trusted */
		if (now >= s[i].verified_at && now < s[i].valid_until)
			hit = true;
		else
			s[i].verified_at = 0;
		break;
	}
	pthread_mutex_unlock(&vc->lock);
	return hit;
}

void gw_vcache_put(gw_vcache *vc, const unsigned char key[32], int64_t now, int64_t valid_until)
{
	if (valid_until <= now)
		return;
	pthread_mutex_lock(&vc->lock);
	vc_slot *s = set_of(vc, key), *victim = &s[0];
	for (int i = 0; i < WAYS; i++) {
		if (s[i].verified_at != 0 && memcmp(s[i].key, key, 32) == 0) {
			victim = &s[i];
			break;
		}
		if (s[i].verified_at < victim->verified_at)
			victim = &s[i];
	}
	memcpy(victim->key, key, 32);
	victim->verified_at = now;
	victim->valid_until = valid_until;
	pthread_mutex_unlock(&vc->lock);
}
