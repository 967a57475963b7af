package dev.ratelimit.spring.web;

import java.util.List;
import org.springframework.http.server.PathContainer;
import org.springframework.http.server.RequestPath;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * Path matching for the filter, with Spring MVC's semantics: a pattern matches the path within the
 * application, split into segments and each segment decoded, as {@link RequestPath#parse} and
 * {@link PathPattern#matches} do.
 *
 * <p>Parsing a path allocates a container and an object per segment, a fair share of the filter's
 * cost. Most paths need none of it: a path with no {@code %} and no {@code ;} decodes to itself,
 * segment by segment, and for such a path a literal pattern ({@code /hello}) matches exactly when it
 * equals the path, and a pattern {@code /prefix/**} exactly when the path is the prefix or starts
 * with it and a slash. Only those two shapes, built of characters that need no encoding, are
 * matched as strings; any other pattern or path goes through Spring's parser, so an encoded path
 * still cannot slip past a rule.
 */
final class RequestPaths {

    private RequestPaths() {
    }

    /** A compiled pattern, with its string form when it has one of the two shapes matched as strings. */
    static final class Pattern {

        private final PathPattern pattern;
        /** The literal path, or the prefix before {@code /**}; null when only {@link #pattern} can match. */
        private final String text;
        private final boolean prefix;

        private Pattern(PathPattern pattern, String text, boolean prefix) {
            this.pattern = pattern;
            this.text = text;
            this.prefix = prefix;
        }

        /**
         * Parses {@code pattern} with Spring's default parser, as Spring MVC's mappings are.
         *
         * @throws org.springframework.web.util.pattern.PatternParseException if it is not a valid pattern
         */
        static Pattern compile(String pattern) {
            return compile(pattern, PathPatternParser.defaultInstance);
        }

        /**
         * Parses {@code pattern} with {@code parser}, the one Spring MVC maps handlers with. Matching as
         * strings is only for a parser that reads patterns as the default one does: case-sensitive,
         * segments split at {@code /}.
         *
         * @throws org.springframework.web.util.pattern.PatternParseException if it is not a valid pattern
         */
        static Pattern compile(String pattern, PathPatternParser parser) {
            PathPattern parsed = parser.parse(pattern);
            if (!isDefault(parser)) {
                return new Pattern(parsed, null, false);
            }
            if (!parsed.hasPatternSyntax() && isPlainLiteral(pattern)) {
                return new Pattern(parsed, pattern, false);
            }
            if (pattern.endsWith("/**")) {
                String prefix = pattern.substring(0, pattern.length() - 3);
                if (prefix.isEmpty() || isPlainLiteral(prefix)) {
                    return new Pattern(parsed, prefix, true);
                }
            }
            return new Pattern(parsed, null, false);
        }

        /** Whether {@code parser} reads patterns as {@link PathPatternParser#defaultInstance} does. */
        static boolean isDefault(PathPatternParser parser) {
            return parser == PathPatternParser.defaultInstance
                    || (parser.isCaseSensitive() && parser.getPathOptions() == PathContainer.Options.HTTP_PATH);
        }

        /** Whether this pattern is matched as a string on plain paths. */
        boolean isString() {
            return text != null;
        }

        /**
         * Whether a rule on this pattern covers {@code path}: Spring MVC routes either the path as it
         * is (with {@code PathPattern}s, Boot's default) or the path with its empty segments dropped
         * (with the legacy matching), and a rule must count the request whichever the application uses.
         */
        boolean covers(Path path) {
            return matches(path) || (path.merged != null && matches(path.merged));
        }

        /** Whether an exclusion on this pattern leaves {@code path} out: in both forms, for the same reason. */
        boolean excludes(Path path) {
            return matches(path) && (path.merged == null || matches(path.merged));
        }

        /** Whether the pattern matches {@code path} as it is, as {@link PathPattern#matches} does. */
        boolean matches(Path path) {
            if (text == null || path.start < 0) {
                return pattern.matches(path.parsed());
            }
            String uri = path.uri;
            int length = uri.length() - path.start;
            if (!prefix) {
                return length == text.length() && uri.startsWith(text, path.start);
            }
            return uri.startsWith(text, path.start)
                    && (length == text.length() || uri.charAt(path.start + text.length()) == '/');
        }

        /**
         * Whether {@code s} is {@code /} or slash-separated non-empty segments of characters that a
         * path carries unencoded and that mean nothing to the pattern parser: such a pattern matches
         * its own text and nothing else.
         */
        private static boolean isPlainLiteral(String s) {
            if (s.isEmpty() || s.charAt(0) != '/') {
                return false;
            }
            for (int i = 1; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '/' ? s.charAt(i - 1) == '/' : !isPlainChar(c)) {
                    return false;
                }
            }
            return true;
        }

        private static boolean isPlainChar(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~';
        }
    }

    /**
     * A request's path within the application, parsed only if a pattern needs it, and the same path
     * with its empty segments dropped ({@link #merged}) when it has any.
     */
    static final class Path {

        private static final PathContainer.Options UNDECODED = PathContainer.Options.create('/', false);

        private final String uri;
        private final String contextPath;
        /** Where the path within the application starts in {@link #uri}, or -1 unless it is plain. */
        private final int start;
        private PathContainer parsed;
        private final Path merged;

        private Path(String uri, String contextPath, int start) {
            this.uri = uri;
            this.contextPath = contextPath;
            this.start = start;
            if (start < 0) {
                parsed(); // now, as before there was a fast path: a context path Spring rejects still fails every request
            }
            this.merged = start < 0 ? merged(parsed) : null;
        }

        /** A path already parsed, such as a merged one. */
        private Path(PathContainer parsed) {
            this.uri = null;
            this.contextPath = null;
            this.start = -1;
            this.parsed = parsed;
            this.merged = null;
        }

        /**
         * The path as Spring MVC's legacy matching ({@code UrlPathHelper}, with
         * {@code matching-strategy: ant_path_matcher}) and the servlet container's mapping see it: with
         * no empty segment ({@code //}, or one that is only {@code ;} parameters), so {@code //api/x}
         * and {@code /;a/api/x} are {@code /api/x}. Null when the path has no empty segment, which
         * includes every plain path.
         */
        Path merged() {
            return merged;
        }

        private static Path merged(PathContainer path) {
            boolean empty = false;
            boolean separator = false;
            for (PathContainer.Element element : path.elements()) {
                boolean isSeparator = element instanceof PathContainer.Separator;
                if ((isSeparator && separator)
                        || (element instanceof PathContainer.PathSegment segment && segment.valueToMatch().isEmpty())) {
                    empty = true;
                    break;
                }
                separator = isSeparator;
            }
            if (!empty) {
                return null;
            }
            StringBuilder merged = new StringBuilder();
            for (PathContainer.Element element : path.elements()) {
                if (element instanceof PathContainer.PathSegment segment && !segment.valueToMatch().isEmpty()) {
                    merged.append('/').append(segment.valueToMatch());
                }
            }
            List<PathContainer.Element> elements = path.elements();
            if (merged.isEmpty() || elements.get(elements.size() - 1) instanceof PathContainer.Separator) {
                merged.append('/');
            }
            // Already decoded and stripped of parameters: parsed again as it is, so that nothing is decoded twice.
            return new Path(PathContainer.parsePath(merged.toString(), UNDECODED));
        }

        /** The path of a request, given its raw (undecoded) request URI and context path. */
        static Path of(String uri, String contextPath) {
            return new Path(uri, contextPath, plainStart(uri, contextPath));
        }

        /**
         * Where the path within the application starts, if {@code contextPath} is a whole-segment prefix
         * of {@code uri} as {@link RequestPath#parse} requires, and the rest has nothing to decode
         * ({@code %}), strip ({@code ;} parameters) or merge ({@code //}); else -1, leaving the case to
         * Spring's parser.
         */
        private static int plainStart(String uri, String contextPath) {
            if (uri == null) {
                return -1;
            }
            int start = 0;
            if (contextPath != null && !contextPath.isEmpty() && !"/".equals(contextPath)) {
                start = contextPath.length();
                if (contextPath.charAt(0) != '/' || contextPath.charAt(start - 1) == '/' || !uri.startsWith(contextPath)
                        || (uri.length() > start && uri.charAt(start) != '/')) {
                    return -1;
                }
            }
            for (int i = start; i < uri.length(); i++) {
                char c = uri.charAt(i);
                if (c == '%' || c == ';' || (c == '/' && i > start && uri.charAt(i - 1) == '/')) {
                    return -1;
                }
            }
            return start;
        }

        private PathContainer parsed() {
            if (parsed == null) {
                parsed = RequestPath.parse(uri, contextPath).pathWithinApplication();
            }
            return parsed;
        }
    }
}
