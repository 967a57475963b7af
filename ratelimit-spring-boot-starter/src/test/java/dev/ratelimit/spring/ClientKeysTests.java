package dev.ratelimit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClientKeysTests {

    @Test
    void addressesAndUserNamesAreShownAsTheyAre() {
        assertThat(ClientKeys.redact("ip:192.0.2.1")).isEqualTo("ip:192.0.2.1");
        assertThat(ClientKeys.redact("ip:2001:db8:0:1:0:0:0:0/64")).isEqualTo("ip:2001:db8:0:1:0:0:0:0/64");
        assertThat(ClientKeys.redact("user:alice")).isEqualTo("user:alice");
    }

    @Test
    void anythingElseKeepsItsSourceAndShowsAFingerprint() {
        // printf %s 'demo-premium-key' | sha256sum | cut -c1-8
        assertThat(ClientKeys.redact("key:demo-premium-key")).isEqualTo("key:[sha256:24fdfedf]");
        assertThat(ClientKeys.redact("header:demo-premium-key")).isEqualTo("header:[sha256:24fdfedf]");
        assertThat(ClientKeys.redact("demo-premium-key")).isEqualTo("[sha256:24fdfedf]");
        assertThat(ClientKeys.redact("expr:ip:1")).startsWith("expr:[sha256:").doesNotContain("ip:1");
    }
}
