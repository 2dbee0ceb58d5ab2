/* A stand-alone `smdp pki` for development and the README examples until the smdp binary
 * dispatches to dp_testpki_main (argv[0] becomes "pki"). Not installed. */
#include "pki/crypto/testpki.h"

int main(int argc, char **argv)
{
	argv[0] = (char *)"pki";
	return dp_testpki_main(argc, argv);
}
