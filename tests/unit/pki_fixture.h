/* pki_fixture.h - an in-memory PKI (keys, root, intermediate, leaves) for the
 * unit tests of check and bundle: one copy, included by both. */
#ifndef MTK_TEST_PKI_FIXTURE_H
#define MTK_TEST_PKI_FIXTURE_H

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY 86400L

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static void add_ext(X509 *c, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer ? issuer : c, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(c, e, -1), 1);
	X509_EXTENSION_free(e);
}

struct certspec {
	const char *cn;
	const char *country; /* may be NULL */
	bool ca;
	const char *eku;     /* may be NULL */
	const char *san;     /* may be NULL */
	long nb_days, na_days; /* relative to NOW */
	const EVP_MD *md;
};

/* A certificate for key, issued by (issuer, ikey), or self-signed. */
static X509 *mk_cert(const struct certspec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	static long serial = 1;
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
	if (s->country)
		X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)s->country, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_time_adj_ex(X509_getm_notBefore(c), (int)(s->nb_days ? s->nb_days : -10), 0,
			 &(time_t){NOW});
	X509_time_adj_ex(X509_getm_notAfter(c), (int)(s->na_days ? s->na_days : 365), 0,
			 &(time_t){NOW});
	X509_set_pubkey(c, key);
	add_ext(c, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (s->ca)
		add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		add_ext(c, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
	if (s->eku)
		add_ext(c, issuer, NID_ext_key_usage, s->eku);
	if (s->san)
		add_ext(c, issuer, NID_subject_alt_name, s->san);
	assert_true(X509_sign(c, ikey ? ikey : key, s->md ? s->md : EVP_sha256()) > 0);
	return c;
}

struct pki {
	EVP_PKEY *rk, *ik, *lk;
	X509 *root, *inter, *leaf;
};

static void pki_make(struct pki *p, const char *leaf_eku, long leaf_na)
{
	struct certspec rs = {"Example Root CA", "GB", true, NULL, NULL, -100, 3650, NULL};
	struct certspec is = {"Example Issuing CA", "GB", true, NULL, NULL, -100, 1825, NULL};
	struct certspec ls = {"mid01.example.com", "GB", false, leaf_eku, "DNS:mid01.example.com", -1,
			      leaf_na ? leaf_na : 365, NULL};

	p->rk = ec_key();
	p->ik = ec_key();
	p->lk = ec_key();
	p->root = mk_cert(&rs, p->rk, NULL, NULL);
	p->inter = mk_cert(&is, p->ik, p->root, p->rk);
	p->leaf = mk_cert(&ls, p->lk, p->inter, p->ik);
}

static void pki_free(struct pki *p)
{
	EVP_PKEY_free(p->rk);
	EVP_PKEY_free(p->ik);
	EVP_PKEY_free(p->lk);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
}

/* Loader objects from the PKI (check and bundle); a file that only needs
 * certificates defines PKI_FIXTURE_NO_SET. */
#ifndef PKI_FIXTURE_NO_SET
static int line_no = 1;

static void put_cert(mtk_set *set, const char *src, X509 *c)
{
	mtk_obj o = {0};
	o.kind = MTK_OBJ_CERT;
	o.source = (char *)src;
	o.line = line_no;
	line_no += 12;
	o.index = (int)set->count;
	o.label = (char *)"CERTIFICATE";
	X509_up_ref(c);
	o.cert = c;
	assert_int_equal(mtk_set_add(set, &o), MTK_OK);
}

static void put_key(mtk_set *set, const char *src, EVP_PKEY *k, mtk_key_form form)
{
	mtk_obj o = {0};
	o.kind = MTK_OBJ_KEY;
	o.source = (char *)src;
	o.line = line_no;
	line_no += 5;
	o.index = (int)set->count;
	o.label = (char *)(form == MTK_KEY_PKCS1 ? "RSA PRIVATE KEY" : form == MTK_KEY_SEC1 ? "EC PRIVATE KEY"
						     : form == MTK_KEY_PKCS8_ENCRYPTED ? "ENCRYPTED PRIVATE KEY"
										   : "PRIVATE KEY");
	o.key_form = form;
	o.encrypted = form == MTK_KEY_PKCS8_ENCRYPTED;
	if (k != NULL) {
		EVP_PKEY_up_ref(k);
		o.key = k;
	}
	assert_int_equal(mtk_set_add(set, &o), MTK_OK);
}
#endif

#endif
