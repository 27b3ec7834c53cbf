/* Anonymous temporary files: gone with their descriptor, whatever happens
 * to the process. */
#ifndef IW_CORE_TMPFILE_H
#define IW_CORE_TMPFILE_H

/* A read-write, close-on-exec file in DIR (NULL or "": $TMPDIR, else /tmp)
 * with no name left behind (O_TMPFILE, else mkostemp + unlink, the name
 * starting with PREFIX). The descriptor, or -1 with errno set. */
int iw_tmpfile(const char *dir, const char *prefix);
#endif
