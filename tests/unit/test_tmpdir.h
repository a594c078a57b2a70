/* test_tmpdir.h: a test's own directory under /tmp, removed with every file in it at the end
 * (the store tests of SQLite's own mechanisms leave a database, its WAL and their copies there:
 * without this each run left a directory behind). Header-only; include it once per test
 * program. */
#ifndef GB_TEST_TMPDIR_H
#define GB_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Removes the files in dir (not its subdirectories: the tests make none), then dir; 0 when
 * dir is gone. */
static inline int ttmp_remove(const char *dir)
{
    DIR *d = opendir(dir);
    char file[512];
    for (struct dirent *f; d && (f = readdir(d));) {
        if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0) continue;
        snprintf(file, sizeof(file), "%s/%s", dir, f->d_name);
        unlink(file);
    }
    if (d) closedir(d);
    return rmdir(dir) == 0 ? 0 : -1;
}

#endif
