/*
 * Live progress on the operator console's pages (served as a file: no inline script, so the strict
 * Content-Security-Policy holds). Without this script every page still works: reloading it shows
 * the same figures.
 *
 * A page lists runs in a container #passages[data-etat-url]; each run still queued or running is
 * an element [data-passage][data-en-cours] whose cells [data-champ] hold its counts. Every few
 * seconds, while the tab is visible, the script asks the JSON route for those runs (and, on the
 * unfiltered first page of runs, whether newer runs began: data-dernier) and writes the new counts
 * in place. When a run ends, or a new one begins, it fetches the page again and swaps the
 * container, and a polite live region says what happened.
 */
(function () {
  'use strict';

  var EVERY_MS = 2500;
  var nf = new Intl.NumberFormat('fr-FR');

  function setup(box) {
    var url = box.getAttribute('data-etat-url');
    var announce = document.getElementById('passages-annonce');
    var timer = null;
    var busy = false;

    function watched() {
      var els = box.querySelectorAll('[data-passage][data-en-cours]');
      var ids = [];
      for (var i = 0; i < els.length; i++) ids.push(els[i].getAttribute('data-passage'));
      return ids;
    }
    function newest() {
      var d = box.getAttribute('data-dernier');
      return d === null || d === '' ? null : d;
    }
    function waiting() {
      return box.getAttribute('data-attente') === 'oui';
    }
    function say(text) {
      if (announce && text) announce.textContent = text;
    }

    function setCell(row, field, text) {
      var cell = row.querySelector('[data-champ="' + field + '"]');
      if (!cell) return;
      // The rejected count may be a link to the quarantine: change its text only.
      var target = cell.querySelector('a') || cell;
      if (target.textContent !== text) target.textContent = text;
    }

    // Fetches this page again and swaps the runs container: the server renders it, as on a reload.
    function refresh(message) {
      return window
        .fetch(window.location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
        .then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.text();
        })
        .then(function (text) {
          var doc = new window.DOMParser().parseFromString(text, 'text/html');
          var fresh = doc.getElementById(box.id);
          if (!fresh) return;
          box.innerHTML = fresh.innerHTML;
          var attrs = ['data-dernier', 'data-attente'];
          for (var i = 0; i < attrs.length; i++) {
            if (fresh.hasAttribute(attrs[i])) box.setAttribute(attrs[i], fresh.getAttribute(attrs[i]));
            else box.removeAttribute(attrs[i]);
          }
          say(message);
        });
    }

    function tick() {
      timer = null;
      if (busy) return schedule();
      var ids = watched();
      var last = newest();
      if (!ids.length && last === null && !waiting()) return; // nothing can change on this page
      if (document.hidden) return schedule();
      busy = true;
      var q = new window.URLSearchParams({ ids: ids.join(',') });
      if (last !== null) q.set('apres', last);
      window
        .fetch(url + '?' + q.toString(), { headers: { accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.json();
        })
        .then(function (state) {
          var ended = [];
          for (var i = 0; i < state.passages.length; i++) {
            var p = state.passages[i];
            var row = box.querySelector('[data-passage="' + p.id + '"]');
            if (!row) continue;
            setCell(row, 'read', nf.format(p.lues));
            setCell(row, 'loaded', nf.format(p.chargees));
            setCell(row, 'rejected', nf.format(p.rejetees));
            setCell(row, 'published', nf.format(p.publiees));
            setCell(row, 'duration', p.duree);
            if (p.termine || p.statut !== row.getAttribute('data-en-cours')) ended.push(p);
          }
          var news = last !== null ? state.nouveaux : 0;
          if (!ended.length && !news) return;
          var parts = [];
          for (var j = 0; j < ended.length; j++) parts.push('Passage n° ' + ended[j].id + ' : ' + ended[j].libelle.toLowerCase() + '.');
          if (news) parts.push(news > 1 ? news + ' nouveaux passages.' : 'Un nouveau passage.');
          return refresh(parts.join(' '));
        })
        .catch(function () {
          // The server is away for a moment: try again at the next tick.
        })
        .then(function () {
          busy = false;
          schedule();
        });
    }
    function schedule() {
      if (!timer) timer = window.setTimeout(tick, EVERY_MS);
    }

    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) schedule();
    });
    schedule();
  }

  function init() {
    var boxes = document.querySelectorAll('[data-etat-url]');
    for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
