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
     * {@link #REQUEST_ATTRIBUTE} (null if none), followed by this. A denial among the earlier
     * decisions is left out: the request went on, so the application caught it (a
     * {@code @RateLimited} call's exception), and it no longer decides the request.
     */
    public RateLimitResult after(Object earlier) {
        if (!(earlier instanceof RateLimitResult r)) {
            return this;
        }
        if (r.allowed()) {
            return r.and(this);
        }
        List<RuleDecision> all = new ArrayList<>(r.decisions.size() + decisions.size());
        for (RuleDecision decision : r.decisions) {
            if (decision.decision().allowed()) {
                all.add(decision);
            }
        }
        all.addAll(decisions);
        return new RateLimitResult(all);
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
