package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** ScriptRunner reads replies with its own output: errors must still surface, and not spoil the connection. */
class ScriptRunnerTest {

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> connection;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
        connection = client.connect();
    }

    @AfterAll
    static void close() {
        connection.close();
        client.shutdown();
    }

    @Test
    void aScriptErrorFailsTheCallAndTheNextCallSucceeds() {
        LuaPolicy lua = LuaPolicy.of(new Policy(Algorithm.TOKEN_BUCKET, List.of(Limit.of(3, Duration.ofMinutes(1)))));
        ScriptRunner runner = new ScriptRunner(
                RedisConnection.given(new RedisConnection.Commands(connection), false), lua,
                Duration.ofSeconds(2).toNanos());
        String[] key = {TestRedis.prefix() + "{bucket}"};
        String[] args = lua.args(new LuaPolicy.Request[] {new LuaPolicy.Request("1000000", "a", 1, 0)}, 0, 1);
        // Permits that are no number: the script's arithmetic on them fails.
        String[] broken = args.clone();
        broken[broken.length - 2] = "x";
        assertThatThrownBy(() -> runner.run(key, broken)).isInstanceOf(RedisUnavailableException.class)
                .hasMessageContaining("nil value");
        assertThat(runner.run(key, args)).containsExactly(1, 2, 3, 0, 20_000_000, 0, 0);
    }
}
