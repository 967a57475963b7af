package dev.ratelimit.spring;

import java.lang.reflect.Array;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.springframework.expression.Expression;
import org.springframework.expression.spel.SpelNode;
import org.springframework.expression.spel.ast.VariableReference;
import org.springframework.expression.spel.standard.SpelExpression;
import org.springframework.util.ReflectionUtils;

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
     * The text a key expression's value names a bucket by, or null for a null value. An array is
     * written out element by element ({@code [a, b]}), as a list's {@code toString()} is: its own
     * {@code toString()} is its identity, different for every call, and so is that of any object
     * whose class has no {@code toString()} of its own. Such a value would give every call a bucket
     * of its own, putting the limit out of force, so it is refused.
     *
     * @param where names the key in the message, such as {@code @RateLimited(key = "#form") on Forms.submit};
     *              asked only when the value is refused
     * @throws IllegalStateException if the value's text is only its identity
     */
    public static String text(Object value, Supplier<String> where) {
        if (value == null) {
            return null;
        }
        if (value instanceof Object[] array) {
            return Arrays.deepToString(array);
        }
        if (value.getClass().isArray()) {
            StringBuilder text = new StringBuilder("[");
            for (int i = 0; i < Array.getLength(value); i++) {
                text.append(i == 0 ? "" : ", ").append(Array.get(value, i));
            }
            return text.append(']').toString();
        }
        if (ReflectionUtils.findMethod(value.getClass(), "toString").getDeclaringClass() == Object.class) {
            throw new IllegalStateException(where.get() + " came out a " + value.getClass().getName()
                    + ", which has no toString() but its identity, so every call would get a bucket of its own;"
                    + " key by one of its properties instead");
        }
        return value.toString();
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
