package dev.crescent.bench;

/**
 * Runs a load in windows until its rate stops rising, so what is measured after it is the steady state of
 * long-running processes. On 2 cores the JIT compilers of fresh JVMs take most of the CPU for tens of seconds
 * (measured: C2 threads at 30-65 % of a core each, 25 s in; an HA leader, which also compiles the etcd client's
 * gRPC and Netty paths while sharing the cores with four other JVMs, still spent 7 s compiling in the 17 s after a
 * 40 s load), and a fixed warm-up measured the compilers: master calls ran at 1/7 of their steady rate after 8 s.
 * Done when, after at least three windows, a window is less than 5 % faster than the one before, or at the limit.
 */
final class WarmUp {
    /** One window of the load: runs it for {@code seconds} and answers its rate (any unit, the same each time). */
    interface Window {
        double rate(double seconds) throws InterruptedException;
    }

    private WarmUp() {}

    /** @return the seconds the warm-up took */
    static double untilSteady(Window load, double windowSeconds, double limitSeconds) throws InterruptedException {
        long started = System.nanoTime();
        long limit = started + (long) (limitSeconds * 1e9);
        double previous = 0;
        for (int windows = 1; ; windows++) {
            double rate = load.rate(windowSeconds);
            if (windows >= 3 && rate < previous * 1.05 || System.nanoTime() > limit) {
                return (System.nanoTime() - started) / 1e9;
            }
            previous = rate;
        }
    }
}
