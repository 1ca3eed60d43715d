/* The module's version: the one place it is written (the Makefile and the Debian package read it here). */
#ifndef BLINKAUTH_VERSION_H
#define BLINKAUTH_VERSION_H

#define BLINKAUTH_VERSION "0.1.0"

#endif
