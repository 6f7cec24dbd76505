/*
 * gfapi_rw: the smallest libgfapi round trip, for end-to-end tests.
 *
 *   gfapi_rw HOST PORT VOLUME [LOGFILE]
 *
 * glfs_new(VOLUME), glfs_set_volfile_server("tcp", HOST, PORT), glfs_init
 * (GETSPEC on the management port, then per brick DUMP/PING/PORTBYBRICK and
 * the brick connection), then creates a file with a random name, writes a
 * known pattern, reads it back through a new descriptor, compares, unlinks it
 * and calls glfs_fini (about 10 s in 10.x). Exits 0 and prints "ok ..." with
 * the time each phase took on success; otherwise
 * prints "gfapi_rw: <step>: <error>" on stderr and exits 1.
 *
 * Build: cc -o gfapi_rw gfapi_rw.c $(pkg-config --cflags --libs glusterfs-api)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <glusterfs/api/glfs.h>

#define DATA_SIZE (256 * 1024)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const char *step, int err)
{
    fprintf(stderr, "gfapi_rw: %s: %s (errno %d)\n", step, strerror(err), err);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s HOST PORT VOLUME [LOGFILE]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *volume = argv[3];
    const char *logfile = argc == 5 ? argv[4] : "/dev/stderr";
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "gfapi_rw: bad port %s\n", argv[2]);
        return 2;
    }

    double t0 = now_ms();
    glfs_t *fs = glfs_new(volume);
    if (fs == NULL)
        return fail("glfs_new", errno);
    if (glfs_set_volfile_server(fs, "tcp", host, port) != 0)
        return fail("glfs_set_volfile_server", errno);
    if (glfs_set_logging(fs, logfile, 7 /* GF_LOG_INFO */) != 0)
        return fail("glfs_set_logging", errno);
    if (glfs_init(fs) != 0) {
        int err = errno;
        fprintf(stderr, "gfapi_rw: glfs_init %s:%d/%s failed (see %s)\n", host, port,
                volume, logfile);
        return fail("glfs_init", err);
    }

    double t_init = now_ms();
    char path[128];
    snprintf(path, sizeof(path), "/gfapi-rw-%ld-%ld", (long)getpid(), (long)time(NULL));

    unsigned char *want = malloc(DATA_SIZE), *got = malloc(DATA_SIZE);
    if (want == NULL || got == NULL)
        return fail("malloc", ENOMEM);
    srandom((unsigned)(getpid() ^ time(NULL)));
    for (size_t i = 0; i < DATA_SIZE; i++)
        want[i] = (unsigned char)(random() & 0xff);

    glfs_fd_t *fd = glfs_creat(fs, path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd == NULL)
        return fail("glfs_creat", errno);
    size_t done = 0;
    while (done < DATA_SIZE) {
        ssize_t n = glfs_write(fd, want + done, DATA_SIZE - done, 0);
        if (n <= 0)
            return fail("glfs_write", n < 0 ? errno : EIO);
        done += (size_t)n;
    }
    if (glfs_close(fd) != 0)
        return fail("glfs_close (write)", errno);

    fd = glfs_open(fs, path, O_RDONLY);
    if (fd == NULL)
        return fail("glfs_open", errno);
    done = 0;
    while (done < DATA_SIZE) {
        ssize_t n = glfs_read(fd, got + done, DATA_SIZE - done, 0);
        if (n < 0)
            return fail("glfs_read", errno);
        if (n == 0) {
            fprintf(stderr, "gfapi_rw: short read: %zu of %d bytes\n", done, DATA_SIZE);
            return 1;
        }
        done += (size_t)n;
    }
    if (glfs_close(fd) != 0)
        return fail("glfs_close (read)", errno);
    if (memcmp(want, got, DATA_SIZE) != 0) {
        fprintf(stderr, "gfapi_rw: data read back from %s differs from what was written\n", path);
        return 1;
    }
    if (glfs_unlink(fs, path) != 0)
        return fail("glfs_unlink", errno);
    double t_io = now_ms();
    /* glfs_fini of 10.x takes about 10 s (gluster/glusterfs#2606). */
    if (glfs_fini(fs) != 0)
        return fail("glfs_fini", errno);
    double t_fini = now_ms();
    printf("ok %s:%d/%s wrote and read back %d bytes (glfs_init %.0f ms, I/O %.0f ms, glfs_fini %.0f ms)\n",
           host, port, volume, DATA_SIZE, t_init - t0, t_io - t_init, t_fini - t_io);
    return 0;
}
