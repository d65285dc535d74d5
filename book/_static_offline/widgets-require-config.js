/* require.js configuration for the Jupyter widget manager, read by require.js when it loads.
 *
 * html-manager's embed-amd.js sets webpack's public path (where it fetches its icon
 * fonts) from the require.js URL of its module "@jupyter-widgets/html-manager/dist/...",
 * which by default resolves next to the page (book/@jupyter-widgets/...: 404). Map it to
 * the vendored copy in _static/vendor/html-manager/ (tools/vendor_assets.py).
 * Listed first in nb_ipywidgets_js (_config.yml), so it runs before require.js.
 */
(function () {
  "use strict";
  var here = document.currentScript && document.currentScript.src;
  if (!here) {
    return;
  }
  var dist = new URL("vendor/html-manager", here).href;
  window.require = { paths: { "@jupyter-widgets/html-manager/dist": dist } };
})();
