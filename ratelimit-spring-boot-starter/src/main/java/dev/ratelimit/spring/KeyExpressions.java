package dev.ratelimit.spring;

import java.util.Objects;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.springframework.expression.Expression;
import org.springframework.expression.spel.SpelNode;
import org.springframework.expression.spel.ast.VariableReference;
import org.springframework.expression.spel.standard.SpelExpression;

/**
 * Start-up checks of client keys, shared by the properties, {@code @RateLimited} and the filter's
 * rules. Not for applications: public only because they live in different packages.
 */
public final class KeyExpressions {

    /** A field name as RFC 9110 defines it: one or more token characters. */
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    private KeyExpressions() {
    }

    /**
     * Whether {@code name} is a header name as RFC 9110 defines it. Any other name matches no
     * request's header, so a key read from it would be absent on every request.
     */
    public static boolean isHeaderName(String name) {
        return name != null && HEADER_NAME.matcher(name).matches();
    }

    /**
     * The first variable {@code expression} reads that {@code known} does not accept, or null.
     * {@code #root} and {@code #this} are always known. An unknown variable reads as null, and a
     * key that comes out null falls back to another key (the client's IP, say, or one bucket for
     * every caller): a typo such as {@code #emial} would silently share a limit meant per value.
     *
     * @throws NullPointerException if an argument is null
     */
    public static String unknownVariable(Expression expression, Predicate<String> known) {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(known, "known");
        return expression instanceof SpelExpression spel ? unknownVariable(spel.getAST(), known) : null;
    }

    private static String unknownVariable(SpelNode node, Predicate<String> known) {
        if (node instanceof VariableReference) {
            String name = node.toStringAST().substring(1);
            if (!name.equals("root") && !name.equals("this") && !known.test(name)) {
                return name;
            }
        }
        for (int i = 0; i < node.getChildCount(); i++) {
            String unknown = unknownVariable(node.getChild(i), known);
            if (unknown != null) {
                return unknown;
            }
        }
        return null;
    }
}
