/* A main() for building fuzz targets without libFuzzer (gcc): feeds each file named on the command line
 * to LLVMFuzzerTestOneInput once. A crash, a sanitizer report or a violated property ends the process
 * with a non-zero status; tests/fuzz/run.sh runs one process per file and counts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into a malloc block; NULL when it cannot. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (f == NULL)
        return NULL;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            if ((buf = realloc(buf, cap)) == NULL)
                break;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *size = n;
    return buf;
}

int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        size_t size = 0;
        uint8_t *data = slurp(argv[i], &size);

        if (data == NULL) {
            perror(argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
    }
    return 0;
}
