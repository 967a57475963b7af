package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.springframework.http.server.RequestPath;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * The filter's string matching of plain paths must agree with Spring MVC's matching (parse, decode,
 * match by segment) on every path, or a path could slip past a rule that its controller still serves.
 */
class RequestPathsTests {

    private static final List<String> PATTERNS = List.of("/hello", "/hello/", "/Hello", "/a/b", "/a.b", "/api/**",
            "/**", "/", "/api/*", "/api/{id}", "/hel?o", "hello", "/a//b", "/a%62", "/a;b", "/api/*/**",
            "/x-y_z~1/**", "/h√©", "/{*rest}", "//**");

    private static final List<String> PATHS = List.of("", "/", "//", "/hello", "/hello/", "/hello//", "/HELLO",
            "/hel%6Co", "/hel%6co", "/hello;a=b", "/hello;", "/;a/hello", "//hello", "/hello/x", "hello", "/a/b", "/a//b",
            "/a%2Fb", "/a/b/", "/a.b", "/a%2eb", "/api", "/api/", "/apix", "/api/1", "/api/1/2", "/api//x", "/api;x/y",
            "/%61pi/items", "/ap%69/x", "/a/x/c", "/a%62", "/ab", "/a;b", "/x-y_z~1", "/x-y_z~1/q", "/h√©", "/h%C3%A9",
            "/hello?x", "/api%2F1");

    @Test
    void stringMatchingAgreesWithSpringOnChosenPaths() {
        for (String context : List.of("", "/app", "/a")) {
            for (String path : PATHS) {
                for (String pattern : PATTERNS) {
                    assertAgrees(pattern, context + path, context);
                    assertCoversTheFormWithoutTrailingSlash(pattern, context + path, context, 0);
                }
            }
        }
    }

    @Test
    void stringMatchingAgreesWithSpringOnRandomPaths() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        String alphabet = "/ab%6;=.-2F";
        for (int n = 0; n < 20_000; n++) {
            StringBuilder path = new StringBuilder(random.nextBoolean() ? "/" : "");
            for (int i = random.nextInt(9); i > 0; i--) {
                path.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String pattern = PATTERNS.get(random.nextInt(PATTERNS.size()));
            String context = random.nextInt(4) == 0 ? "/a" : "";
            assertAgrees(pattern, context + path, context, seed);
            assertAgrees(random.nextBoolean() ? "/a/b" : "/a/**", context + path, context, seed);
            assertCoversTheFormWithoutTrailingSlash(pattern, context + path + "/", context, seed);
        }
    }

    @Test
    void plainShapesAreMatchedAsStringsAndTheRestBySpring() {
        List<String> strings = new ArrayList<>();
        for (String pattern : PATTERNS) {
            if (RequestPaths.Pattern.compile(pattern).isString()) {
                strings.add(pattern);
            }
        }
        assertThat(strings).containsExactly("/hello", "/hello/", "/Hello", "/a/b", "/a.b", "/api/**", "/**", "/",
                "/x-y_z~1/**", "//**");
    }

    @Test
    void aContextPathThatIsNoPrefixStillFailsAsSpringFails() {
        assertThatIllegalArgumentException().isThrownBy(() -> RequestPath.parse("/other/hello", "/app"));
        assertThatIllegalArgumentException().isThrownBy(() -> RequestPaths.Path.of("/other/hello", "/app"));
        assertThatIllegalArgumentException().isThrownBy(() -> RequestPaths.Path.of("/application/hello", "/app"));
    }

    private static void assertAgrees(String pattern, String uri, String context) {
        assertAgrees(pattern, uri, context, 0);
    }

    /** Both match, or both do not, or both reject the path (a bad context path or escape) alike. */
    private static void assertAgrees(String pattern, String uri, String context, long seed) {
        Object spring = outcome(() -> PathPatternParser.defaultInstance.parse(pattern)
                .matches(RequestPath.parse(uri, context).pathWithinApplication()));
        Object ours = outcome(() -> RequestPaths.Pattern.compile(pattern).matches(RequestPaths.Path.of(uri, context)));
        assertThat(ours).as("pattern %s, uri %s, context path \"%s\" (seed %d)", pattern, uri, context, seed)
                .isEqualTo(spring);
    }

    /**
     * A rule covers a path ending in a slash wherever Spring matches the path with that slash cut, as
     * {@code UrlHandlerFilter} routes it.
     */
    private static void assertCoversTheFormWithoutTrailingSlash(String pattern, String uri, String context, long seed) {
        if (!uri.endsWith("/") || uri.length() <= context.length() + 1) {
            return;
        }
        String cut = uri.substring(0, uri.length() - 1);
        Object spring = outcome(() -> PathPatternParser.defaultInstance.parse(pattern)
                .matches(RequestPath.parse(cut, context).pathWithinApplication()));
        if (Boolean.TRUE.equals(spring)) {
            Object ours = outcome(() -> RequestPaths.Pattern.compile(pattern).covers(RequestPaths.Path.of(uri, context)));
            assertThat(ours).as("pattern %s, uri %s, context path \"%s\" (seed %d)", pattern, uri, context, seed)
                    .isEqualTo(true);
        }
    }

    private static Object outcome(Supplier<Boolean> match) {
        try {
            return match.get();
        } catch (IllegalArgumentException e) {
            return e.getClass();
        }
    }
}
