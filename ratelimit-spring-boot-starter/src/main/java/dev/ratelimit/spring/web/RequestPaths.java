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
         * Whether a rule on this pattern covers {@code path} in any of its forms: the application may
         * route a request by the path as it is (with {@code PathPattern}s, Boot's default), with its
         * empty segments dropped (with the legacy matching) or with its trailing slash cut (Spring's
         * {@code UrlHandlerFilter}, which a filter of the application's own order runs after this one),
         * and a rule must count the request whichever it does.
         */
        boolean covers(Path path) {
            if (matches(path)) {
                return true;
            }
            // The loop starts from the next form, never from path itself: a plain path (no other
            // form) then stays in registers, where a loop variable that could hold it would make C2
            // allocate it.
            for (Path form = path.next; form != null; form = form.next) {
                if (matches(form)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether an exclusion on this pattern leaves {@code path} out: in every form, for the same reason. */
        boolean excludes(Path path) {
            if (!matches(path)) {
                return false;
            }
            for (Path form = path.next; form != null; form = form.next) { // from the next form, as in covers
                if (!matches(form)) {
                    return false;
                }
            }
            return true;
        }

        /** Whether the pattern matches {@code path} as it is, as {@link PathPattern#matches} does. */
        boolean matches(Path path) {
            if (text == null || path.start < 0) {
                return pattern.matches(path.parsed());
            }
            String uri = path.uri;
            int length = path.end - path.start;
            if (!prefix) {
                return length == text.length() && uri.startsWith(text, path.start);
            }
            return length >= text.length() && uri.startsWith(text, path.start)
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
     * A request's path within the application, parsed only if a pattern needs it, and chained to its
     * other forms ({@link #next}): without its trailing slash, and with its empty segments dropped.
     */
    static final class Path {

        private static final PathContainer.Options UNDECODED = PathContainer.Options.create('/', false);

        private final String uri;
        private final String contextPath;
        /** Where the path within the application starts in {@link #uri}, or -1 unless it is plain. */
        private final int start;
        /** Where it ends in {@link #uri}, when it is plain. */
        private final int end;
        private PathContainer parsed;
        /** Another form of the same request's path, or null when there is no other. */
        private final Path next;

        private Path(String uri, String contextPath, int start) {
            this.uri = uri;
            this.contextPath = contextPath;
            this.start = start;
            if (start < 0) {
                this.end = -1;
                parsed(); // now, as before there was a fast path: a context path Spring rejects still fails every request
                PathContainer merged = merged(parsed);
                this.next = trimmed(parsed, merged == null ? null : forms(merged));
            } else {
                this.end = uri.length();
                // A plain path has no empty segment, so cutting its trailing slash is its only other form.
                this.next = end - start > 1 && uri.charAt(end - 1) == '/' ? new Path(uri, contextPath, start, end - 1) : null;
            }
        }

        /** A plain path's form without its trailing slash. */
        private Path(String uri, String contextPath, int start, int end) {
            this.uri = uri;
            this.contextPath = contextPath;
            this.start = start;
            this.end = end;
            this.next = null;
        }

        /** A form already parsed, followed by {@code next}. */
        private Path(PathContainer parsed, Path next) {
            this.uri = null;
            this.contextPath = null;
            this.start = -1;
            this.end = -1;
            this.parsed = parsed;
            this.next = next;
        }

        /** {@code path} followed by its form without a trailing slash, if it has one. */
        private static Path forms(PathContainer path) {
            return new Path(path, trimmed(path, null));
        }

        /**
         * The form of {@code path} without its trailing slash, as {@code UrlHandlerFilter} routes it,
         * followed by {@code next}; just {@code next} when there is no slash to cut ({@code /} itself
         * is kept).
         */
        private static Path trimmed(PathContainer path, Path next) {
            List<PathContainer.Element> elements = path.elements();
            int size = elements.size();
            if (size < 2 || !(elements.get(size - 1) instanceof PathContainer.Separator)) {
                return next;
            }
            return new Path(path.subPath(0, size - 1), next);
        }

        /**
         * The path as Spring MVC's legacy matching ({@code UrlPathHelper}, with
         * {@code matching-strategy: ant_path_matcher}) and the servlet container's mapping see it: with
         * no empty segment ({@code //}, or one that is only {@code ;} parameters), so {@code //api/x}
         * and {@code /;a/api/x} are {@code /api/x}. Null when the path has no empty segment, which
         * includes every plain path.
         */
        private static PathContainer merged(PathContainer path) {
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
            return PathContainer.parsePath(merged.toString(), UNDECODED);
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
                // A plain path's form without its trailing slash ends before its URI does.
                String path = end < 0 || end == uri.length() ? uri : uri.substring(0, end);
                parsed = RequestPath.parse(path, contextPath).pathWithinApplication();
            }
            return parsed;
        }
    }
}
