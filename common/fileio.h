/*
 * common/fileio.h - whole files in memory (configs, the API's state).
 */
#ifndef EGRESS_FILEIO_H
#define EGRESS_FILEIO_H

#include <stddef.h>

/* Larger files are refused (EFBIG): a config is never this big. */
#define FILEIO_MAX	(64u << 20)

/*
 * Reads <path> into a NUL-terminated buffer (the caller frees it), its
 * length in *<lenp>; NULL with errno set (ENOENT when absent).
 */
char	*file_read(const char *path, size_t *lenp);

#endif /* EGRESS_FILEIO_H */
