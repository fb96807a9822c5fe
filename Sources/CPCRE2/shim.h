// PCRE2 (Debian's libpcre2-dev), 8-bit code units: HAProxy's regular expression engine.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
