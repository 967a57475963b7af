package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.UUID;
import redis.embedded.RedisServer;

/**
 * The Redis that tests share: {@code REDIS_URL} (default {@code redis://127.0.0.1:6379}) when it
 * answers, otherwise an embedded server started once per JVM. Never skips: if neither works, the
 * tests fail. Every test takes its own key prefix from {@link #prefix()}, so keys never collide.
 */
public final class TestRedis {

    private static RedisURI uri;

    private TestRedis() {
    }

    public static synchronized RedisURI uri() {
        if (uri == null) {
            String url = System.getenv().getOrDefault("REDIS_URL", "redis://127.0.0.1:6379");
            RedisURI candidate = RedisURI.create(url);
            if (answers(candidate)) {
                uri = candidate;
            } else {
                int port = RedisProcess.freePort();
                try {
                    RedisServer server = RedisServer.newRedisServer().port(port).bind("127.0.0.1")
                            .setting("save \"\"").setting("appendonly no").build();
                    server.start();
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                        try {
                            server.stop();
                        } catch (IOException ignored) {
                            // the JVM is exiting
                        }
                    }));
                } catch (IOException e) {
                    throw new UncheckedIOException("no Redis at " + url + " and the embedded one did not start", e);
                }
                System.err.println("No Redis at " + url + "; started an embedded server on port " + port);
                uri = RedisURI.create("127.0.0.1", port);
            }
        }
        return uri;
    }

    /** A new client of the shared Redis; close it after use. */
    public static RedisClient client() {
        return RedisClient.create(uri());
    }

    /** A key prefix no other test uses. */
    public static String prefix() {
        return "rltest:" + UUID.randomUUID() + ":";
    }

    /** How many times {@code command} ran, from an {@code INFO commandstats} reply; 0 if it never did. */
    public static long calls(String commandstats, String command) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_" + command + ":calls=(\\d+)")
                .matcher(commandstats);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static boolean answers(RedisURI candidate) {
        RedisURI probe = RedisURI.create(candidate.toURI().toString());
        probe.setTimeout(Duration.ofSeconds(1));
        RedisClient client = RedisClient.create(probe);
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            return "PONG".equals(c.sync().ping());
        } catch (RuntimeException e) {
            return false;
        } finally {
            client.shutdown();
        }
    }
}
