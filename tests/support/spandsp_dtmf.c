/* Reference DTMF receiver/generator for orderline's tests and benchmark: spandsp's
 * dtmf_rx / dtmf_tx with their default parameters, behind a tiny command line.
 *
 *   spandsp_dtmf rx FILE.raw...              one line per file: the digits found
 *   spandsp_dtmf tx DIGITS LEVEL TWIST ON_MS OFF_MS OUT.raw
 *                                             (LEVEL dBm0 of the low tone, TWIST dB)
 *   spandsp_dtmf bench FILE.raw PASSES       prints samples per second of dtmf_rx
 *
 * Raw files are 8 kHz signed 16-bit little-endian mono. Audio is fed in 160-sample
 * frames (20 ms), as a call would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <inttypes.h>
#include <spandsp.h>

static int16_t *load(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    int16_t *buf = malloc(bytes > 0 ? bytes : 2);
    if (!buf || fread(buf, 1, bytes, f) != (size_t) bytes) { fprintf(stderr, "read %s\n", path); exit(2); }
    fclose(f);
    *n = bytes / 2;
    return buf;
}

static void rx_one(const int16_t *amp, long n, char *out, size_t cap)
{
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
    size_t len = 0;
    char digits[129];
    for (long i = 0; i < n; i += 160) {
        int k = (n - i) < 160 ? (int) (n - i) : 160;
        dtmf_rx(rx, amp + i, k);
        size_t got = dtmf_rx_get(rx, digits, 128);
        for (size_t j = 0; j < got && len + 1 < cap; j++) out[len++] = digits[j];
    }
    /* Flush: a digit still sounding at the end is reported after some silence. */
    int16_t silence[160] = {0};
    for (int i = 0; i < 5; i++) {
        dtmf_rx(rx, silence, 160);
        size_t got = dtmf_rx_get(rx, digits, 128);
        for (size_t j = 0; j < got && len + 1 < cap; j++) out[len++] = digits[j];
    }
    out[len] = 0;
    dtmf_rx_free(rx);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "rx") == 0) {
        static char out[65536];
        for (int a = 2; a < argc; a++) {
            long n;
            int16_t *amp = load(argv[a], &n);
            rx_one(amp, n, out, sizeof(out));
            printf("%s\n", out);
            free(amp);
        }
        return 0;
    }
    if (argc == 8 && strcmp(argv[1], "tx") == 0) {
        dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
        dtmf_tx_set_level(tx, atoi(argv[3]), atoi(argv[4]));
        dtmf_tx_set_timing(tx, atoi(argv[5]), atoi(argv[6]));
        FILE *f = fopen(argv[7], "wb");
        if (!f) { perror(argv[7]); return 2; }
        const char *d = argv[2];
        int16_t buf[160];
        /* dtmf_tx's queue is finite: feed digits as it drains. */
        for (;;) {
            if (*d && dtmf_tx_put(tx, d, 1) == 0) d++;
            int k = dtmf_tx(tx, buf, 160);
            if (k == 0 && !*d) break;
            fwrite(buf, 2, k, f);
        }
        fclose(f);
        dtmf_tx_free(tx);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "bench") == 0) {
        long n;
        int16_t *amp = load(argv[2], &n);
        int passes = atoi(argv[3]);
        dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
        char digits[129];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int p = 0; p < passes; p++)
            for (long i = 0; i < n; i += 160) {
                int k = (n - i) < 160 ? (int) (n - i) : 160;
                dtmf_rx(rx, amp + i, k);
                dtmf_rx_get(rx, digits, 128);
            }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%.0f\n", (double) n * passes / s);
        dtmf_rx_free(rx);
        return 0;
    }
    fprintf(stderr, "usage: spandsp_dtmf rx FILE.raw... | tx DIGITS LEVEL TWIST ON_MS OFF_MS OUT.raw | bench FILE.raw PASSES\n");
    return 2;
}
