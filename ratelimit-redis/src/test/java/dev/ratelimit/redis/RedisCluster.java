package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A three-master Redis Cluster of the test's own: {@code redis-server --cluster-enabled yes} on
 * three free loopback ports, joined with {@code CLUSTER MEET} and {@code CLUSTER ADDSLOTS}.
 * {@link #close()} stops the processes and deletes their directories.
 */
public final class RedisCluster implements AutoCloseable {

    private final List<RedisProcess> nodes = new ArrayList<>();

    public RedisCluster() {
        try {
            for (int i = 0; i < 3; i++) {
                nodes.add(new RedisProcess("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "5000"));
            }
            RedisClient client = RedisClient.create();
            try {
                List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
                for (RedisProcess node : nodes) {
                    connections.add(client.connect(RedisURI.create("127.0.0.1", node.port())));
                }
                for (int i = 1; i < 3; i++) {
                    connections.get(0).sync().clusterMeet("127.0.0.1", nodes.get(i).port());
                }
                for (int i = 0; i < 3; i++) {
                    int from = i * 16384 / 3;
                    int to = (i + 1) * 16384 / 3;
                    connections.get(i).sync().clusterAddSlots(IntStream.range(from, to).toArray());
                }
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (!connections.stream().allMatch(c -> c.sync().clusterInfo().contains("cluster_state:ok")
                        && c.sync().clusterNodes().lines().count() == 3)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the cluster did not form within 20 s");
                    }
                    Thread.sleep(50);
                }
                connections.forEach(StatefulRedisConnection::close);
            } finally {
                client.shutdown();
            }
        } catch (RuntimeException | InterruptedException e) {
            close();
            throw new IllegalStateException("could not start the test cluster", e);
        }
    }

    public List<RedisURI> uris() {
        return nodes.stream().map(n -> RedisURI.create("127.0.0.1", n.port())).toList();
    }

    @Override
    public void close() {
        nodes.forEach(RedisProcess::close);
    }
}
