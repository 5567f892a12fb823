/* The target tree (templates/_targets.html): search by name, tri-state parents, the count
 * of chosen terminals, keyboard use. What is submitted is what the person ticked: a ticked
 * building is sent as that building (so screens added to it later join), terminals ticked
 * one by one as terminals, even when together they fill their building. The fields keep the
 * names and values the server already parses; hidden inputs carry them. */
(function () {
  "use strict";

  function setup(root) {
    var single = root.dataset.mode === "single";
    var submitBox = root.querySelector(".target-submit");
    var search = root.querySelector(".target-search");
    var count = root.querySelector(".target-count");
    var nomatch = root.querySelector(".target-nomatch");
    var nodes = Array.prototype.map.call(root.querySelectorAll("li.tnode"), function (li) {
      var input = li.querySelector(":scope > .trow input");
      var node = {li: li, input: input, kind: li.dataset.kind, children: [], parent: null,
                  field: input.getAttribute("name"), value: input.value,
                  name: (li.dataset.name || "").toLowerCase(), explicit: input.checked};
      // The hidden inputs carry the choice from now on (see sync).
      input.removeAttribute("name");
      li._node = node;
      return node;
    });
    nodes.forEach(function (n) {
      var up = n.li.parentElement.closest("li.tnode");
      if (up && root.contains(up)) { n.parent = up._node; up._node.children.push(n); }
    });
    var top = nodes.filter(function (n) { return !n.parent; });
    if (single) {
      var chosen = nodes.filter(function (n) { return n.input.checked; });
      nodes.forEach(function (n) { n.input.checked = false; });
      (chosen[chosen.length - 1] || top[0]).input.checked = true;  // the deepest one
    } else {
      // What the server stored covers everything under it.
      nodes.forEach(function (n) { if (n.explicit) { cover(n, true); } });
      nodes.forEach(function (n) { if (!n.children.length) { refreshUp(n); } });
    }

    // Expand and collapse: buildings start folded unless partly chosen.
    nodes.forEach(function (n) {
      if (!n.children.length) { return; }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "target-toggle";
      b.tabIndex = -1;
      b.setAttribute("aria-label", root.dataset.toggleText + " " + n.li.dataset.name);
      b.addEventListener("click", function () { fold(n, n.li.dataset.open === "true"); });
      n.li.querySelector(":scope > .trow").prepend(b);
      n.toggle = b;
      fold(n, n.kind === "building" && !n.input.indeterminate &&
           !(single && n.children.some(function (c) { return c.input.checked; })));
    });

    nodes.forEach(function (n) {
      n.input.addEventListener("change", function () { (single ? choose : tick)(n); sync(); });
    });
    search.hidden = false;
    search.addEventListener("input", filter);
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); }
      if (e.key === "ArrowDown" || e.key === "Enter") {
        var shown = visible();  // the first match, not the street above it
        var first = shown.filter(function (n) { return n.li.classList.contains("target-hit"); })[0] ||
          shown[0];
        if (first) { e.preventDefault(); first.input.focus(); }
      }
    });
    root.addEventListener("keydown", keys);
    sync();
    // The first chosen place in view inside the list (not by scrolling the page).
    var first = nodes.filter(function (n) { return n.input.checked || n.input.indeterminate; })
      .filter(function (n) { return n.kind !== "street"; });
    var list = root.querySelector(".target-nodes");
    if (first.length) {
      var row = first[first.length > 1 && single ? first.length - 1 : 0].li;
      list.scrollTop = row.getBoundingClientRect().top - list.getBoundingClientRect().top - 40;
    }

    function cover(n, on) {
      n.children.forEach(function (c) {
        c.input.checked = on; c.input.indeterminate = false; c.explicit = false; cover(c, on);
      });
    }

    function refreshUp(n) {
      for (var p = n.parent; p; p = p.parent) {
        var all = p.children.every(function (c) { return c.input.checked; });
        var some = p.children.some(function (c) { return c.input.checked || c.input.indeterminate; });
        p.input.checked = all;
        p.input.indeterminate = some && !all;
      }
    }

    function tick(n) {
      var on = n.input.checked;
      if (!on) {
        // Unticking inside a chosen place: the place is no longer whole, so what is left
        // of it (the siblings along the way down) becomes chosen on its own.
        var path = [];
        for (var p = n; p; p = p.parent) { path.unshift(p); }
        var at = path.findIndex(function (p) { return p.explicit && p.input.checked; });
        if (at >= 0) {
          for (var i = at; i < path.length - 1; i++) {
            path[i].explicit = false;
            path[i].children.forEach(function (c) { if (c !== path[i + 1]) { c.explicit = true; } });
          }
        }
      }
      n.explicit = on;
      n.input.indeterminate = false;
      cover(n, on);
      refreshUp(n);
    }

    function choose(n) {
      nodes.forEach(function (m) { if (m !== n) { m.input.checked = false; } });
    }

    // The fields to send: a chosen place with a field name stands for everything in it.
    // A whole place without a field of its own (the street, for community staff) stands
    // for the places in it.
    function picked() {
      var out = [];
      (function walk(list, whole) {
        list.forEach(function (n) {
          var all = n.input.checked && (n.explicit || whole);
          if (single) {
            if (n.input.checked) { out.push(n); }
          } else if (n.field && (all || (n.input.checked && !n.children.length))) {
            out.push(n);
            return;
          }
          walk(n.children, all && !n.field);
        });
      })(top, false);
      return out;
    }

    function screensOf(n) { return parseInt(n.li.dataset.screens, 10) || 0; }

    function sync() {
      submitBox.textContent = "";
      picked().forEach(function (n) {
        if (!n.field) { return; }
        var h = document.createElement("input");
        h.type = "hidden"; h.name = n.field; h.value = n.value;
        if (root.dataset.form) { h.setAttribute("form", root.dataset.form); }
        submitBox.appendChild(h);
      });
      var text;
      if (single) {
        var on = nodes.filter(function (n) { return n.input.checked; })[0] || top[0];
        text = (on === top[0] ? root.dataset.allText : root.dataset.countText)
          .replace("{n}", screensOf(on));
      } else {
        // The ticked leaves' screens (a terminal is one; a tree may stop at buildings).
        var n = nodes.filter(function (m) { return !m.children.length && m.input.checked; })
          .reduce(function (sum, m) { return sum + screensOf(m); }, 0);
        text = root.dataset.countText.replace("{n}", n);
      }
      count.value = text;
      count.textContent = text;
    }

    function fold(n, shut) {
      n.li.dataset.open = shut ? "false" : "true";
      n.toggle.setAttribute("aria-expanded", shut ? "false" : "true");
      n.toggle.textContent = shut ? "▸" : "▾";
    }

    // Shows the names that contain the search text, with the places they are in and what
    // is in them; opens the places where a match lies below.
    function filter() {
      var q = search.value.trim().toLowerCase();
      var any = false;
      function mark(n, inHit) {
        var hit = q !== "" && n.name.indexOf(q) >= 0;
        var hitBelow = false;
        n.children.forEach(function (c) { if (mark(c, inHit || hit)) { hitBelow = true; } });
        n.li.hidden = q !== "" && !(hit || inHit || hitBelow);
        n.li.classList.toggle("target-hit", hit);
        if (n.toggle) { fold(n, q ? !hitBelow : n.kind === "building" && !n.input.indeterminate); }
        if (hit) { any = true; }
        return hit || hitBelow;
      }
      top.forEach(function (n) { mark(n, false); });
      nomatch.hidden = !q || any;
    }

    function visible() {
      return nodes.filter(function (n) {
        for (var p = n.li; p && p !== root; p = p.parentElement) {
          if (p.hidden) { return false; }
          if (p !== n.li && p.matches("li.tnode[data-open=false]")) { return false; }
        }
        return true;
      });
    }

    function keys(e) {
      var n = e.target.closest && e.target.closest("li.tnode");
      if (!n || e.target !== n._node.input) { return; }
      n = n._node;
      var list = visible(), i = list.indexOf(n);
      if (e.key === "ArrowDown" && i + 1 < list.length) { list[i + 1].input.focus(); }
      else if (e.key === "ArrowUp") { (i > 0 ? list[i - 1].input : search).focus(); }
      else if (e.key === "ArrowRight" && n.toggle) { fold(n, false); }
      else if (e.key === "ArrowLeft" && n.toggle && n.li.dataset.open === "true") { fold(n, true); }
      else if (e.key === "ArrowLeft" && n.parent) { n.parent.input.focus(); }
      else if (e.key === "Enter") { e.preventDefault(); n.input.click(); return; }
      else { return; }
      e.preventDefault();
    }
  }

  function start() { document.querySelectorAll(".target-tree").forEach(setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
