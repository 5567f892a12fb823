// Terminal preview: show the panel at exactly its pixel size. Pico's `img { height: auto }`
// would otherwise follow the file's own aspect ratio instead of the panel's height.
(function () {
  document.querySelectorAll(".preview-screen .led[width][height]").forEach((el) => {
    el.style.width = el.getAttribute("width") + "px";
    el.style.height = el.getAttribute("height") + "px";
  });
  document.querySelectorAll(".preview-screen .strip .led[height]").forEach((el) => {
    el.style.height = el.getAttribute("height") + "px";
    el.style.width = "auto";
  });
})();
