/* LED board: the latest call scrolls by ("A023 → 3号窗口"), alternating the hall's languages;
 * with two lines the previous call shows below. Idle: the hall's name. */
(function () {
  "use strict";

  var D = window.HallDisplay;
  var config = D.config;
  var SPEED_HEIGHTS_PER_S = 2.2;  // scroll speed in line heights per second
  var STILL_MS = 3500;            // how long a text that fits stays before the next language
  var languages = config.languages;
  var calls = [];                 // newest first, at most config.lines
  var hallNames = {};

  function callText(call, lang) { return call.number + " → " + D.counterLabel(call.counter, lang); }

  function texts(call) {
    if (!call) return languages.map(function (lang) { return hallNames[lang] || config.strings_by_lang[lang].welcome; });
    return languages.map(function (lang) { return callText(call, lang); });
  }

  /** Show each language's text once (scrolling when wider than the board), then start over. */
  function Line(node, index) {
    this.node = node;
    this.index = index;
    this.span = node.querySelector(".led-text");
    this.step = 0;
    this.timer = null;
    this.animation = null;
  }

  Line.prototype.restart = function () {
    this.step = 0;
    this.next();
  };

  Line.prototype.next = function () {
    var self = this;
    clearTimeout(this.timer);
    if (this.animation) { this.animation.onfinish = null; this.animation.cancel(); }
    var choices = texts(calls[this.index]);
    this.span.textContent = choices[this.step % choices.length];
    this.step += 1;
    var width = this.node.clientWidth;
    var textWidth = this.span.scrollWidth;
    this.span.classList.toggle("fits", textWidth <= width);
    if (textWidth <= width) {
      this.timer = setTimeout(function () { self.next(); }, STILL_MS);
      return;
    }
    var speed = this.node.clientHeight * SPEED_HEIGHTS_PER_S;
    this.animation = this.span.animate(
      [{transform: "translateX(" + width + "px)"}, {transform: "translateX(" + -textWidth + "px)"}],
      {duration: (width + textWidth) / speed * 1000, easing: "linear"});
    this.animation.onfinish = function () { self.next(); };
  };

  var lines = Array.prototype.map.call(document.querySelectorAll(".led-line"), function (node, i) {
    return new Line(node, i);
  });

  function refresh() { lines.forEach(function (line) { line.restart(); }); }

  D.start({
    onSnapshot: function (snapshot) {
      hallNames = {zh: snapshot.hall.name_zh, en: snapshot.hall.name_en};
      var fresh = D.bounded(snapshot.recent_calls.filter(function (c) { return D.inZone(c.zone); }), lines.length);
      var changed = JSON.stringify(fresh.map(function (c) { return [c.number, c.counter]; })) !==
        JSON.stringify(calls.map(function (c) { return [c.number, c.counter]; }));
      if (changed || !calls.length) { calls = fresh; refresh(); }
    },
    onEvent: function (event) {
      if ((event.kind !== "called" && event.kind !== "recalled") || !event.counter || !D.inZone(event.counter.zone)) return;
      if (event.known) return;  // the snapshot that overtook it put it on the board
      calls.unshift({number: event.ticket.number, counter: event.counter.number});
      D.bounded(calls, lines.length);
      refresh();
    },
  });
})();
