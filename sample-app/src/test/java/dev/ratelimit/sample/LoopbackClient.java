package dev.ratelimit.sample;

import java.util.function.IntSupplier;
import org.springframework.boot.resttestclient.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.ResponseEntity;

/**
 * Calls the running sample app at 127.0.0.1 rather than "localhost", so that every request comes
 * from one known client key, {@code ip:127.0.0.1}, whichever address "localhost" resolves to.
 */
final class LoopbackClient {

    static final String CLIENT = "ip:127.0.0.1";

    private final TestRestTemplate http;
    private final IntSupplier port;

    /** Calls the app listening on {@code port}, read on each call as the server starts after this exists. */
    LoopbackClient(TestRestTemplate http, IntSupplier port) {
        this.http = http;
        this.port = port;
    }

    /** GET with headers given as name, value, name, value, ... */
    ResponseEntity<String> get(String path, String... headers) {
        return exchange(HttpMethod.GET, path, headers);
    }

    ResponseEntity<String> post(String path, String... headers) {
        return exchange(HttpMethod.POST, path, headers);
    }

    ResponseEntity<String> delete(String path) {
        return exchange(HttpMethod.DELETE, path);
    }

    ResponseEntity<String> exchange(HttpMethod method, String path, String... headers) {
        HttpHeaders values = new HttpHeaders();
        for (int i = 0; i < headers.length; i += 2) {
            values.add(headers[i], headers[i + 1]);
        }
        return http.exchange("http://127.0.0.1:" + port.getAsInt() + path, method, new HttpEntity<>(values), String.class);
    }
}
