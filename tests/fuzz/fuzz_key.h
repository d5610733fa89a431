/* fuzz_key.h - the public key that checks the signed seeds of
 * corpus/acl (written by seedgen.c; its private half is gone). */
#define FUZZ_SIGN_PUB                                                          \
	"-----BEGIN PUBLIC KEY-----\n"                                         \
	"MCowBQYDK2VwAyEAPaveCOyY4PYcr9dqsZOw764N3kF29nioT+2+oFZTxvU=\n"       \
	"-----END PUBLIC KEY-----\n"
