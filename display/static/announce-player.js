/* Plays call announcements one after another: chime, then the call's clips in order.
 * A call is queued when its event arrives; its clip keys follow in an `announce`
 * message with the same seq (an empty list = no voice on the server: chime only).
 * A silent call (a quiet zone) plays the chime only, whatever clips the server names.
 * Never two calls over each other; the queue is bounded so a backlog cannot grow.
 */
(function (global) {
  "use strict";

  var MAX_QUEUED = 6;       // older calls are dropped if the hall calls faster than we can speak
  var KEYS_WAIT_MS = 3000;  // how long after the chime to wait for the clip keys
  var CLIP_TIMEOUT_MS = 20000;
  var HISTORY = 40;

  function AnnouncePlayer(options) {
    this.chimeUrl = options.chimeUrl;
    this.audioUrl = options.audioUrl;  // function key -> URL
    this.onBlocked = options.onBlocked || function () {};
    this.audio = new Audio();
    this.audio.preload = "auto";
    this.queue = [];
    this.keys = {};        // seq -> keys; trimmed to the newest HISTORY entries
    this.waiting = null;   // {seq, resolve} while waiting for keys
    this.busy = false;
    this.blocked = false;
    this.played = [];      // newest last, bounded: what was played, for tests and diagnosis
  }

  AnnouncePlayer.prototype.enqueue = function (seq, silent) {
    this.queue.push({seq: seq, silent: !!silent});
    if (this.queue.length > MAX_QUEUED) this.queue.shift();
    this.pump();
  };

  AnnouncePlayer.prototype.setKeys = function (seq, keys) {
    this.keys[seq] = keys || [];
    var seqs = Object.keys(this.keys);
    if (seqs.length > HISTORY) delete this.keys[seqs.sort(function (a, b) { return a - b; })[0]];
    if (this.waiting && this.waiting.seq === seq) this.waiting.resolve(this.keys[seq]);
  };

  /** Try to play (silently) once: if the browser refuses, the page must ask for a click. */
  AnnouncePlayer.prototype.probe = function () {
    var self = this;
    var probe = new Audio(this.chimeUrl);
    probe.volume = 0;
    return probe.play().then(function () { probe.pause(); self.blocked = false; return true; })
      .catch(function (error) {
        if (error && error.name === "NotAllowedError") { self.blocked = true; self.onBlocked(); return false; }
        return true;
      });
  };

  /** Called from a click: the gesture unlocks audio for the page's lifetime. */
  AnnouncePlayer.prototype.unlock = function () {
    this.blocked = false;
    this.audio.src = this.chimeUrl;
    this.audio.volume = 0;
    var self = this;
    return this.audio.play().then(function () { self.audio.pause(); self.audio.volume = 1; self.pump(); })
      .catch(function () { self.audio.volume = 1; });
  };

  AnnouncePlayer.prototype.pump = function () {
    if (this.busy || this.blocked || !this.queue.length) return;
    var self = this;
    var call = this.queue.shift();
    var seq = call.seq;
    this.busy = true;
    this.play(this.chimeUrl)
      .then(function () { return call.silent ? [] : self.keysFor(seq); })
      .then(function (keys) {
        return keys.reduce(function (done, key) {
          return done.then(function () { return self.play(self.audioUrl(key)); });
        }, Promise.resolve());
      })
      .then(function () { self.busy = false; delete self.keys[seq]; self.pump(); });
  };

  AnnouncePlayer.prototype.keysFor = function (seq) {
    var self = this;
    if (this.keys[seq]) return Promise.resolve(this.keys[seq]);
    return new Promise(function (resolve) {
      var timer = setTimeout(function () { self.waiting = null; resolve([]); }, KEYS_WAIT_MS);
      self.waiting = {seq: seq, resolve: function (keys) { clearTimeout(timer); self.waiting = null; resolve(keys); }};
    });
  };

  /** Resolves when the clip has ended, failed or overrun: the queue always moves on. */
  AnnouncePlayer.prototype.play = function (url) {
    var audio = this.audio;
    var self = this;
    return new Promise(function (resolve) {
      var timer = setTimeout(finish, CLIP_TIMEOUT_MS);
      function finish() {
        clearTimeout(timer);
        audio.onended = audio.onerror = null;
        resolve();
      }
      audio.onended = function () {
        self.played.push(url);
        if (self.played.length > HISTORY) self.played.shift();
        finish();
      };
      audio.onerror = finish;
      audio.volume = 1;
      audio.src = url;
      audio.play().catch(function (error) {
        if (error && error.name === "NotAllowedError") { self.blocked = true; self.onBlocked(); }
        finish();
      });
    });
  };

  global.AnnouncePlayer = AnnouncePlayer;
})(window);
