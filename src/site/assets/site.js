/*
 * Progressive enhancement of the public site (served as a file: no inline script, so a strict
 * Content-Security-Policy holds). Without this script every page still works: the search is a
 * plain form, each chart is a data table.
 *
 * 1. The search field of the home page becomes an ARIA combobox with a list of suggestions
 *    (WAI-ARIA Authoring Practices, "combobox with list autocomplete"): suggestions come from the
 *    geo.api-style route /communes (by name with boost=population, by postcode, by INSEE code);
 *    Down/Up move through them, Enter opens the chosen commune's page, Escape closes the list,
 *    and a polite live region says how many suggestions there are.
 * 2. Each figure[data-graphique] gets a Chart.js chart drawn from its own table; the table stays
 *    available under "Voir les données du graphique".
 */
(function () {
  'use strict';

  var FIELDS = 'nom,code,codesPostaux,departement,population';
  var TYPES = 'commune-actuelle,arrondissement-municipal';

  function pageOf(code) {
    return '/communes/' + encodeURIComponent(code) + '/page';
  }

  function setupCombobox(input) {
    var listbox = document.getElementById(input.id + '-suggestions');
    var status = document.getElementById(input.id + '-statut');
    if (!listbox || !status || !window.fetch) return;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', listbox.id);

    var items = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var seq = 0;

    function isOpen() {
      return !listbox.hidden;
    }
    function open() {
      if (!items.length) return;
      listbox.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
    function close() {
      listbox.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      setActive(-1);
    }
    function setActive(i) {
      var options = listbox.querySelectorAll('[role="option"]');
      for (var k = 0; k < options.length; k++) options[k].setAttribute('aria-selected', k === i ? 'true' : 'false');
      active = i;
      if (i >= 0 && options[i]) {
        input.setAttribute('aria-activedescendant', options[i].id);
        if (options[i].scrollIntoView) options[i].scrollIntoView({ block: 'nearest' });
      } else input.removeAttribute('aria-activedescendant');
    }
    function choose(i) {
      if (items[i]) window.location.href = pageOf(items[i].code);
    }

    function render(list) {
      items = list;
      listbox.textContent = '';
      list.forEach(function (c, i) {
        var li = document.createElement('li');
        li.id = input.id + '-option-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        li.className = 'recherche__option';
        var name = document.createElement('span');
        name.className = 'recherche__nom';
        name.textContent = c.nom;
        var detail = document.createElement('span');
        detail.className = 'recherche__detail';
        var dep = c.departement ? c.departement.nom + ' (' + c.departement.code + ')' : '';
        var cps = (c.codesPostaux || []).slice(0, 3).join(', ') + ((c.codesPostaux || []).length > 3 ? '…' : '');
        detail.textContent = [dep, cps].filter(Boolean).join(' · ');
        li.appendChild(name);
        li.appendChild(document.createTextNode(' '));
        li.appendChild(detail);
        // mousedown keeps the focus in the field; click opens the page.
        li.addEventListener('mousedown', function (e) {
          e.preventDefault();
        });
        li.addEventListener('click', function () {
          choose(i);
        });
        listbox.appendChild(li);
      });
      active = -1;
      input.removeAttribute('aria-activedescendant');
      if (list.length) {
        open();
        status.textContent =
          list.length +
          (list.length > 1 ? ' communes suggérées' : ' commune suggérée') +
          ' ; flèche bas pour les parcourir, Entrée pour choisir.';
      } else {
        close();
        status.textContent = 'Aucune commune suggérée ; Entrée pour lancer la recherche.';
      }
    }

    function get(url, signal) {
      return fetch(url, { headers: { accept: 'application/json' }, signal: signal }).then(function (r) {
        return r.ok ? r.json() : [];
      });
    }

    function suggest() {
      var q = input.value.trim();
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var signal = controller ? controller.signal : undefined;
      var mine = ++seq;
      var requests;
      if (/^[0-9]{5}$/.test(q) || /^2[ABab][0-9]{3}$/.test(q)) {
        requests = [get('/communes?code=' + encodeURIComponent(q.toUpperCase()) + '&type=' + TYPES + '&fields=' + FIELDS, signal)];
        if (/^[0-9]{5}$/.test(q)) requests.push(get('/communes?codePostal=' + q + '&type=' + TYPES + '&fields=' + FIELDS, signal));
      } else if (q.length >= 2 && !/^[0-9]+$/.test(q)) {
        requests = [
          get('/communes?nom=' + encodeURIComponent(q) + '&boost=population&type=' + TYPES + '&fields=' + FIELDS + '&limit=8', signal),
        ];
      } else {
        render([]);
        close();
        status.textContent = '';
        return;
      }
      Promise.all(requests)
        .then(function (lists) {
          if (mine !== seq) return;
          var seen = {};
          var out = [];
          lists.forEach(function (l) {
            (l || []).forEach(function (c) {
              if (!seen[c.code]) {
                seen[c.code] = true;
                out.push(c);
              }
            });
          });
          render(out.slice(0, 10));
        })
        .catch(function () {
          /* aborted by a newer keystroke, or offline: the form still submits */
        });
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(suggest, 120);
    });
    input.addEventListener('keydown', function (e) {
      var n = items.length;
      if (e.key === 'ArrowDown' || e.key === 'Down') {
        if (!n) return;
        e.preventDefault();
        if (!isOpen()) {
          open();
          if (e.altKey) return;
        }
        setActive(active + 1 >= n ? 0 : active + 1);
      } else if (e.key === 'ArrowUp' || e.key === 'Up') {
        if (!n) return;
        e.preventDefault();
        if (!isOpen()) open();
        setActive(active - 1 < 0 ? n - 1 : active - 1);
      } else if (e.key === 'Enter') {
        if (isOpen() && active >= 0) {
          e.preventDefault();
          choose(active);
        }
      } else if (e.key === 'Escape' || e.key === 'Esc') {
        if (isOpen()) {
          e.preventDefault();
          close();
        } else if (input.value) {
          e.preventDefault();
          input.value = '';
          render([]);
          status.textContent = '';
        }
      } else if (e.key === 'Tab') {
        close();
      }
    });
    input.addEventListener('blur', function () {
      close();
    });
    input.addEventListener('focus', function () {
      if (items.length && input.value.trim()) open();
    });
  }

  var nf = window.Intl ? new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 }) : null;
  function fmt(v) {
    return nf ? nf.format(v) : String(v);
  }
  var COLORS = ['#000091', '#c9191e', '#6a6af4', '#009081'];

  function setupChart(fig) {
    if (!window.Chart) return;
    var table = fig.querySelector('table');
    var container = fig.querySelector('.graphique__tableau');
    var caption = fig.querySelector('figcaption');
    if (!table || !container || !table.tHead || !table.tBodies.length) return;
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells, 1);
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var labels = rows.map(function (r) {
      return r.cells[0].textContent.trim();
    });
    var kind = fig.getAttribute('data-graphique');
    var datasets = heads.map(function (th, i) {
      return {
        label: th.textContent.trim(),
        unit: th.getAttribute('data-unite') || '',
        data: rows.map(function (r) {
          var v = r.cells[i + 1] && r.cells[i + 1].getAttribute('data-valeur');
          return v === null || v === undefined ? null : Number(v);
        }),
        backgroundColor: COLORS[i % COLORS.length],
        borderColor: COLORS[i % COLORS.length],
        borderWidth: 2,
        pointRadius: 3,
        tension: 0,
      };
    });
    var wrap = document.createElement('div');
    wrap.className = 'graphique__canvas graphique__canvas--' + kind;
    if (kind === 'barh') wrap.classList.add('graphique__canvas--h' + Math.min(15, Math.max(2, rows.length)));
    var canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute(
      'aria-label',
      (caption ? caption.textContent.trim() : 'Graphique') + ' : graphique, ses données sont dans le tableau qui suit.',
    );
    wrap.appendChild(canvas);
    var details = document.createElement('details');
    details.className = 'graphique__details fr-mt-1w';
    var summary = document.createElement('summary');
    summary.textContent = 'Voir les données du graphique';
    details.appendChild(summary);
    fig.insertBefore(wrap, container);
    fig.insertBefore(details, container);
    details.appendChild(container);

    window.Chart.defaults.font.family = 'Marianne, arial, sans-serif';
    window.Chart.defaults.color = '#3a3a3a';
    var horizontal = kind === 'barh';
    var valueAxis = {
      beginAtZero: kind !== 'line',
      ticks: {
        callback: function (v) {
          return fmt(v);
        },
      },
    };
    new window.Chart(canvas, {
      type: kind === 'line' ? 'line' : 'bar',
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var ds = datasets[ctx.datasetIndex];
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                return ds.label + ' : ' + fmt(v) + (ds.unit ? ' ' + ds.unit : '');
              },
            },
          },
        },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis },
      },
    });
  }

  function init() {
    var input = document.getElementById('recherche');
    if (input && document.getElementById('recherche-suggestions')) setupCombobox(input);
    var figs = document.querySelectorAll('figure[data-graphique]');
    for (var i = 0; i < figs.length; i++) setupChart(figs[i]);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
