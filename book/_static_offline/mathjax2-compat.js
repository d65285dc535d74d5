/* MathJax 2 entry point for code written against it, on pages that load MathJax 3.
 *
 * The Jupyter widget manager (@jupyter-widgets/base `typeset`, bundled in
 * html-manager's embed-amd.js) typesets widget labels with the MathJax 2 call
 * `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])` whenever `window.MathJax`
 * exists. The book loads MathJax 3, which has no `Hub`, so every widget on a page with
 * math threw "Cannot read properties of undefined (reading 'Queue')".
 *
 * Listed in nb_ipywidgets_js (_config.yml), so it is loaded on widget pages only, after
 * Sphinx's `window.MathJax = {...}` config and before MathJax 3 itself (deferred). It puts a small `Hub` on the config
 * object (for calls made before MathJax has started) and again on the real MathJax
 * object once it is ready; "Typeset" jobs become MathJax 3 `typesetPromise` calls
 * chained on `MathJax.startup.promise`, other jobs (functions) run in order.
 */
(function () {
  "use strict";
  var cfg = window.MathJax;
  if (!cfg || typeof cfg !== "object" || cfg.version) {
    return; // no MathJax on this page, or it is already running
  }
  var pending = [];

  function typeset(el) {
    var mj = window.MathJax;
    if (mj && mj.version && mj.typesetPromise && mj.startup && mj.startup.promise) {
      mj.startup.promise = mj.startup.promise.then(function () {
        return mj.typesetPromise(el ? [el] : undefined);
      });
    } else {
      pending.push(el);
    }
  }

  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") {
          typeset(job[2]);
        } else if (typeof job === "function") {
          job();
        }
      }
    },
  };

  cfg.Hub = hub;
  cfg.startup = cfg.startup || {};
  var userReady = cfg.startup.ready;
  cfg.startup.ready = function () {
    if (userReady) {
      userReady();
    } else {
      window.MathJax.startup.defaultReady();
    }
    window.MathJax.Hub = hub;
    pending.splice(0).forEach(typeset);
  };
})();
