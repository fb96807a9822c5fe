// crypt(3) from libcrypt (libcrypt-dev), for `userlist` passwords.
#include <crypt.h>
