package dev.ratelimit.spring;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the rules decided for one request: one {@link RuleDecision} per rule consulted, in order.
 * Rules are consulted until one denies, so a denial is always the last element.
 *
 * @param decisions the decisions, possibly empty when no rule applied
 */
public record RateLimitResult(List<RuleDecision> decisions) {

    /** Request attribute under which the filter and {@link RateLimited} methods gather a request's result. */
    public static final String REQUEST_ATTRIBUTE = RateLimitResult.class.getName();

    /** Copies the list. */
    public RateLimitResult {
        decisions = List.copyOf(decisions);
    }

    /** Whether every rule admitted the request. */
    public boolean allowed() {
        for (RuleDecision decision : decisions) {
            if (!decision.decision().allowed()) {
                return false;
            }
        }
        return true;
    }

    /** The decision that denied the request, if any. */
    public Optional<RuleDecision> denial() {
        for (RuleDecision decision : decisions) {  // a loop: this runs several times on every request
            if (!decision.decision().allowed()) {
                return Optional.of(decision);
            }
        }
        return Optional.empty();
    }

    /**
     * The decision to report in single-valued headers: the denial, else the one with the fewest
     * permits left; empty when no rule applied.
     */
    public Optional<RuleDecision> binding() {
        Optional<RuleDecision> denial = denial();
        if (denial.isPresent() || decisions.isEmpty()) {
            return denial;
        }
        RuleDecision fewest = decisions.get(0);
        for (RuleDecision decision : decisions) {
            if (decision.decision().remaining() < fewest.decision().remaining()) {
                fewest = decision;
            }
        }
        return Optional.of(fewest);
    }

    /**
     * The result a request has gathered once this one is added: {@code earlier}, the value of
     * {@link #REQUEST_ATTRIBUTE} (null if none), followed by this.
     */
    public RateLimitResult after(Object earlier) {
        return earlier instanceof RateLimitResult r ? r.and(this) : this;
    }

    /** This result followed by {@code later}'s decisions. */
    public RateLimitResult and(RateLimitResult later) {
        if (decisions.isEmpty()) {
            return later;
        }
        List<RuleDecision> all = new ArrayList<>(decisions);
        all.addAll(later.decisions);
        return new RateLimitResult(all);
    }
}
