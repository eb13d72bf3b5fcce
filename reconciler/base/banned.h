/*
 * banned: unbounded string functions are not available (STYLE.md). Use
 * snprintf, xasprintf or the buf_* helpers of util.h instead. Included at the
 * end of util.h, after the system headers that declare them, so a use
 * anywhere in the project fails to compile with a name that says why.
 */
#ifndef RECONCILER_BANNED_H
#define RECONCILER_BANNED_H

#include <stdio.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_unbounded_and_banned_see_STYLE_md

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
