// The playground: asks the app to simulate the chosen traffic against two algorithms and draws,
// for each, admitted and denied requests over time as stacked bars in an inline SVG.
(function () {
    'use strict';

    var BINS = 60, WIDTH = 600, HEIGHT = 240, TOP = 10, BOTTOM = 24, SVG = 'http://www.w3.org/2000/svg';

    function value(id) {
        return document.getElementById(id).value;
    }

    function simulate(algorithm) {
        return fetch('playground/simulate', {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({
                algorithm: algorithm,
                pattern: value('pattern'),
                limit: Number(value('limit')),
                periodSeconds: Number(value('period'))
            })
        }).then(function (response) {
            if (!response.ok) {
                return response.json().then(function (problem) {
                    throw new Error(problem.detail || ('HTTP ' + response.status));
                });
            }
            return response.json();
        });
    }

    function element(name, attributes, text) {
        var node = document.createElementNS(SVG, name);
        Object.keys(attributes).forEach(function (key) {
            node.setAttribute(key, attributes[key]);
        });
        if (text !== undefined) {
            node.textContent = text;
        }
        return node;
    }

    function draw(container, simulation) {
        var admitted = new Array(BINS).fill(0), denied = new Array(BINS).fill(0);
        simulation.requests.forEach(function (request) {
            var bin = Math.min(BINS - 1, Math.floor(request.atMillis / simulation.durationMillis * BINS));
            (request.admitted ? admitted : denied)[bin]++;
        });
        var most = Math.max.apply(null, admitted.map(function (a, i) { return a + denied[i]; }).concat([1]));
        var plot = HEIGHT - TOP - BOTTOM, barWidth = WIDTH / BINS;
        var svg = element('svg', {viewBox: '0 0 ' + WIDTH + ' ' + HEIGHT, role: 'img',
            'aria-label': simulation.algorithm + ': ' + simulation.admitted + ' admitted, ' + simulation.denied + ' denied'});
        for (var i = 0; i < BINS; i++) {
            var a = admitted[i] / most * plot, d = denied[i] / most * plot, x = i * barWidth + 1;
            if (admitted[i] > 0) {
                svg.appendChild(element('rect', {'class': 'admitted', x: x, width: barWidth - 2,
                    y: TOP + plot - a, height: a, 'data-count': admitted[i]}));
            }
            if (denied[i] > 0) {
                svg.appendChild(element('rect', {'class': 'denied', x: x, width: barWidth - 2,
                    y: TOP + plot - a - d, height: d, 'data-count': denied[i]}));
            }
        }
        for (var t = 0; t <= simulation.durationMillis; t += simulation.periodMillis) {
            var bx = t / simulation.durationMillis * WIDTH;
            svg.appendChild(element('line', {'class': 'boundary', x1: bx, x2: bx, y1: TOP, y2: TOP + plot}));
            svg.appendChild(element('text', {'class': 'axis', x: Math.min(bx + 2, WIDTH - 30), y: HEIGHT - 8},
                (t / 1000) + ' s'));
        }
        svg.appendChild(element('text', {'class': 'axis', x: 4, y: TOP + 10}, most + ' per bar'));
        container.replaceChildren(svg);
    }

    function summarize(container, simulation) {
        var over = simulation.largestBurst > simulation.limit;
        container.replaceChildren();
        container.append(simulation.admitted + ' admitted, ' + simulation.denied + ' denied. Largest burst: ');
        var peak = document.createElement('span');
        peak.className = over ? 'peak over' : 'peak';
        peak.dataset.peak = simulation.largestBurst;
        peak.textContent = simulation.largestBurst;
        container.append(peak, ' admitted within ' + simulation.burstWindowMillis / 1000 + ' s, for a limit of '
            + simulation.limit + ' per ' + simulation.periodMillis / 1000 + ' s'
            + (over ? ': more than the limit at once.' : '.'));
        container.dataset.algorithm = simulation.algorithm;
    }

    function run(event) {
        if (event) {
            event.preventDefault();
        }
        var error = document.getElementById('error');
        error.textContent = '';
        ['a', 'b'].forEach(function (side) {
            simulate(value('algorithm-' + side)).then(function (simulation) {
                draw(document.getElementById('chart-' + side), simulation);
                summarize(document.getElementById('summary-' + side), simulation);
            }).catch(function (e) {
                error.textContent = e.message;
            });
        });
    }

    var second = document.getElementById('algorithm-b');
    second.replaceChildren.apply(second, Array.prototype.map.call(document.getElementById('algorithm-a').options,
        function (option) { return option.cloneNode(true); }));
    second.value = second.dataset.default;

    document.getElementById('controls').addEventListener('submit', run);
    document.getElementById('algorithm-a').addEventListener('change', run);
    document.getElementById('algorithm-b').addEventListener('change', run);
    document.getElementById('pattern').addEventListener('change', run);
    run();
}());
