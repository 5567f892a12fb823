// Terminal preview: the panel's shape, the content fitted in it as the player fits it.
(function () {
  // The panel at its true pixel size, or scaled down as a whole where it is wider than the
  // page (a 1920×320 strip at 1440 px): never stretched, never scrolling the page sideways.
  const panel = document.getElementById("panel");
  if (panel) {
    const w = parseInt(panel.dataset.width, 10), h = parseInt(panel.dataset.height, 10);
    const fitPanel = () => {
      const room = panel.parentElement.clientWidth;
      const scale = Math.min(1, room / w);
      panel.style.width = Math.floor(w * scale) + "px";
      panel.style.height = Math.floor(h * scale) + "px";
      panel.dataset.scale = scale.toFixed(3);
      const note = document.getElementById("panel-scale");
      note.textContent = scale < 1
        ? " · " + note.dataset.label.replace("{pct}", Math.round(scale * 100)) : "";
    };
    fitPanel();
    window.addEventListener("resize", fitPanel);
  }
  document.querySelectorAll(".preview-screen .strip .led[height]").forEach((el) => {
    el.style.height = el.getAttribute("height") + "px";
    el.style.width = "auto";
  });
})();
