package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A master, one replica and one Sentinel watching them as {@value #MASTER}, all of the test's own
 * on free loopback ports. With a quorum of one and short timeouts, killing the master makes the
 * Sentinel promote the replica within a few seconds. {@link #close()} stops all three.
 */
public final class RedisSentinel implements AutoCloseable {

    public static final String MASTER = "rltest-master";

    private final RedisProcess master;
    private final RedisProcess replica;
    private final int sentinelPort = RedisProcess.freePort();
    private final Path dir;
    private Process sentinel;

    public RedisSentinel() {
        master = new RedisProcess();
        try {
            replica = new RedisProcess("--replicaof", "127.0.0.1", Integer.toString(master.port()));
            dir = Files.createTempDirectory("rltest-sentinel-" + sentinelPort);
            // Sentinel rewrites its configuration file, so it must be a file of its own.
            Path conf = dir.resolve("sentinel.conf");
            Files.writeString(conf, String.join("\n",
                    "port " + sentinelPort,
                    "bind 127.0.0.1",
                    "dir " + dir,
                    "sentinel monitor " + MASTER + " 127.0.0.1 " + master.port() + " 1",
                    "sentinel down-after-milliseconds " + MASTER + " 1000",
                    "sentinel failover-timeout " + MASTER + " 5000",
                    ""));
            sentinel = new ProcessBuilder(RedisProcess.binary(), conf.toString(), "--sentinel")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sentinel.log").toFile()).start();
            awaitMasterKnown();
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** {@code redis-sentinel://127.0.0.1:port#master}: what a Sentinel-aware client connects to. */
    public RedisURI uri() {
        return RedisURI.Builder.sentinel("127.0.0.1", sentinelPort, MASTER).build();
    }

    public int sentinelPort() {
        return sentinelPort;
    }

    public RedisProcess master() {
        return master;
    }

    public RedisProcess replica() {
        return replica;
    }

    /** Waits until the replica has copied everything the master holds, so a failover loses nothing. */
    public void awaitReplicated() {
        RedisClient client = RedisClient.create();
        try (StatefulRedisConnection<String, String> m = client.connect(RedisURI.create(master.uri()))) {
            // WAIT returns once one replica acknowledged every write made on this connection before it;
            // a no-op write first makes "every write" cover the other connections' writes too.
            m.sync().set("rltest:sentinel:barrier", "1");
            long acknowledged = m.sync().waitForReplication(1, 10_000);
            if (acknowledged < 1) {
                throw new IllegalStateException("the replica did not acknowledge within 10 s");
            }
        } finally {
            client.shutdown();
        }
    }

    /** The port of the server the Sentinel currently names as master. */
    public int masterPort() {
        RedisClient client = RedisClient.create();
        try (StatefulRedisSentinelConnection<String, String> s =
                client.connectSentinel(RedisURI.create("127.0.0.1", sentinelPort))) {
            return ((InetSocketAddress) s.sync().getMasterAddrByName(MASTER)).getPort();
        } finally {
            client.shutdown();
        }
    }

    private void awaitMasterKnown() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket ignored = new Socket()) {
                ignored.connect(new InetSocketAddress("127.0.0.1", sentinelPort), 1000);
                if (masterPort() == master.port()) {
                    return;
                }
            } catch (IOException | RuntimeException notYet) {
                if (!sentinel.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the Sentinel did not start on port " + sentinelPort + "; see "
                            + dir.resolve("sentinel.log"), notYet);
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting the Sentinel", e);
            }
        }
    }

    @Override
    public void close() {
        if (sentinel != null) {
            sentinel.destroyForcibly();
            try {
                sentinel.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (replica != null) {
            replica.close();
        }
        master.close();
        if (dir != null) {
            RedisProcess.delete(dir);
        }
    }
}
