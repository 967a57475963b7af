"""Summarises one app's async-profiler collapsed stacks (profile.sh): CPU per request in all, and the
rate-limit filter's own share, the frames under RateLimitFilter.doFilter other than the rest of the
filter chain it calls, broken down by the call beneath doFilter; and Tomcat's writing of the response
headers (Http11OutputBuffer.sendHeader), where the rate-limit headers cost most.

    python3 profile-summary.py NAME STACKS REQUESTS INTERVAL   (INTERVAL as given to async-profiler: 200us)
"""
import collections
import re
import sys

FILTER = 'dev/ratelimit/spring/web/RateLimitFilter.doFilter'
CHAIN = 'org/apache/catalina/core/ApplicationFilterChain'
SEND_HEADER = 'org/apache/coyote/http11/Http11OutputBuffer.sendHeader'


def micros(interval):
    value, unit = re.fullmatch(r'(\d+)(ns|us|ms)?', interval).groups()
    return int(value) * {'ns': 1e-3, 'us': 1.0, 'ms': 1e3, None: 1e-3}[unit]


def main(name, path, requests, interval):
    per_sample = micros(interval)
    total = own = headers = 0
    beneath = collections.Counter()
    for line in open(path):
        stack, count = line.rstrip('\n').rsplit(' ', 1)
        count = int(count)
        total += count
        frames = stack.split(';')
        if SEND_HEADER in frames:
            headers += count
        if FILTER not in frames:
            continue
        below = frames[frames.index(FILTER) + 1:]
        if below and below[0].startswith(CHAIN):
            continue  # the rest of the chain: the application's work, not the filter's
        own += count
        beneath[below[0].rsplit('/', 1)[-1] if below else '(doFilter itself)'] += count
    requests = int(requests)
    print(f'{name}: {requests} requests, {total} samples, {total * per_sample / requests:.2f} us CPU per request')
    print(f'  Tomcat writing the response headers: {headers * per_sample / requests:.3f} us per request')
    if own:
        print(f'  filter\'s own frames: {own * per_sample / requests:.3f} us per request, '
              f'{100.0 * own / total:.2f} % of the samples')
        for call, count in beneath.most_common(12):
            print(f'    {count * per_sample / requests * 1000:7.1f} ns  {call}')


if __name__ == '__main__':
    main(*sys.argv[1:5])
