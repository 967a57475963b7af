package dev.ratelimit.spring;

import java.util.Objects;
import java.util.function.Predicate;
import org.springframework.expression.Expression;
import org.springframework.expression.spel.SpelNode;
import org.springframework.expression.spel.ast.VariableReference;
import org.springframework.expression.spel.standard.SpelExpression;

/**
 * Start-up checks of SpEL client keys, shared by {@code @RateLimited} and the filter's rules. Not
 * for applications: public only because the two live in different packages.
 */
public final class KeyExpressions {

    private KeyExpressions() {
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
