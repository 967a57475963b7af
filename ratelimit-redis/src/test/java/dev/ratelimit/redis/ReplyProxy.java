package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP proxy to the shared Redis that can lose or delay one reply, to place a failure
 * between Redis running a command and the client hearing of it. Arm it, then send: the next chunk
 * of replies Redis sends is then dropped with the connection ({@link #dropNextReply()}) or held
 * back until the client's next request has passed on to Redis ({@link #holdNextReply()}). It can
 * also keep new connections from reaching Redis ({@link #holdReconnect()}), so that a test acts
 * while the client has lost its connection and before it has its next.
 * Accepts a bounded number of connections; every thread is a daemon.
 */
final class ReplyProxy implements AutoCloseable {

    private static final int MAX_CONNECTIONS = 20;
    private static final long HOLD_LIMIT_SECONDS = 10;

    private enum Mode { PASS, DROP, HOLD }

    private final ServerSocket server;
    private final Object lock = new Object();
    private Mode next = Mode.PASS;                          // guarded by lock
    private CountDownLatch held = new CountDownLatch(1);    // guarded by lock
    private CountDownLatch release = new CountDownLatch(1); // guarded by lock
    private CountDownLatch dropped = new CountDownLatch(1); // guarded by lock
    private CountDownLatch reconnect;                       // guarded by lock; null while connections pass

    ReplyProxy() {
        RedisURI redis = TestRedis.uri();
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        daemon(() -> {
            try {
                for (int i = 0; i < MAX_CONNECTIONS; i++) {
                    Socket client = server.accept();
                    if (!awaitReconnect()) {
                        closeQuietly(client);
                        continue;
                    }
                    Socket upstream = new Socket(redis.getHost(), redis.getPort());
                    daemon(() -> pump(client, upstream, false));
                    daemon(() -> pump(upstream, client, true));
                }
            } catch (IOException | InterruptedException closed) {
                // the proxy was closed
            }
        });
    }

    /** A client of Redis through this proxy; shut it down after use. */
    RedisClient client() {
        return RedisClient.create(RedisURI.create("redis://127.0.0.1:" + server.getLocalPort()));
    }

    /** Drops the next chunk of replies and closes the connection it came on, as a network failure would. */
    void dropNextReply() {
        synchronized (lock) {
            next = Mode.DROP;
            dropped = new CountDownLatch(1);
        }
    }

    /** Waits until the reply {@link #dropNextReply()} armed for has been dropped and its connection closed. */
    void awaitDropped() throws InterruptedException {
        CountDownLatch latch;
        synchronized (lock) {
            latch = dropped;
        }
        awaitWithinLimit(latch, "no reply came to drop");
    }

    /**
     * Keeps every connection accepted from now on from reaching Redis until {@link #releaseReconnect()}:
     * the client's handshake waits, and with it everything the client would send again.
     */
    void holdReconnect() {
        synchronized (lock) {
            reconnect = new CountDownLatch(1);
        }
    }

    /** Lets held and later connections through to Redis. */
    void releaseReconnect() {
        synchronized (lock) {
            if (reconnect != null) {
                reconnect.countDown();
                reconnect = null;
            }
        }
    }

    /** Whether a connection just accepted may go on to Redis: false if held longer than the limit. */
    private boolean awaitReconnect() throws InterruptedException {
        CountDownLatch latch;
        synchronized (lock) {
            latch = reconnect;
        }
        return latch == null || latch.await(HOLD_LIMIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Holds the next chunk of replies until the client's next request has been passed on to Redis. */
    void holdNextReply() {
        synchronized (lock) {
            next = Mode.HOLD;
            held = new CountDownLatch(1);
            release = new CountDownLatch(1);
        }
    }

    /** Waits until a held reply is being held. */
    void awaitHeld() throws InterruptedException {
        CountDownLatch latch;
        synchronized (lock) {
            latch = held;
        }
        awaitWithinLimit(latch, "no reply came to hold");
    }

    /** Waits for {@code latch}, bounded so that a test whose reply never comes fails instead of hanging. */
    private static void awaitWithinLimit(CountDownLatch latch, String failure) throws InterruptedException {
        if (!latch.await(HOLD_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException(failure);
        }
    }

    private void pump(Socket from, Socket to, boolean replies) {
        byte[] buffer = new byte[8192];
        CountDownLatch droppedNow = null;
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (replies) {
                    Mode mode;
                    CountDownLatch heldNow;
                    CountDownLatch releaseNow;
                    synchronized (lock) {
                        mode = next;
                        next = Mode.PASS;
                        heldNow = held;
                        releaseNow = release;
                        if (mode == Mode.DROP) {
                            droppedNow = dropped;
                        }
                    }
                    if (mode == Mode.DROP) {
                        break;
                    }
                    if (mode == Mode.HOLD) {
                        heldNow.countDown();
                        if (!releaseNow.await(HOLD_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                            break;
                        }
                    }
                }
                out.write(buffer, 0, n);
                out.flush();
                if (!replies) {
                    synchronized (lock) {
                        if (held.getCount() == 0) {
                            release.countDown(); // the request behind the held reply is on its way
                        }
                    }
                }
            }
        } catch (IOException | InterruptedException closed) {
            // the other side closed, or the test ended
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            if (droppedNow != null) {
                droppedNow.countDown(); // counted only once both sockets are closed
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private static void daemon(Runnable task) {
        Thread thread = new Thread(task, "reply-proxy");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
