// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy-target]");
    if (!el) return;
    var target = document.getElementById(el.getAttribute("data-copy-target"));
    if (target && navigator.clipboard) {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        el.textContent = "Copied";
      });
    }
  });
})();

// Long multi-selects (member states, sectors, organisations) become a searchable list of checkboxes,
// grouped by their <optgroup>s: several picks without Ctrl-click. The <select> stays the form's field
// (hidden, kept in sync), so the server reads exactly what it reads without script.
(function () {
  "use strict";
  var counter = 0;

  function enhance(select) {
    if (select.dataset.pickerReady) return;
    select.dataset.pickerReady = "1";
    var id = "picker-" + (++counter);
    var box = document.createElement("div");
    box.className = "picker";
    var search = document.createElement("input");
    search.type = "search";
    search.className = "picker-search";
    search.placeholder = "Type to filter…";
    search.setAttribute("aria-label", "Filter " + (select.getAttribute("aria-label") || select.name));
    search.setAttribute("aria-controls", id);
    var chosen = document.createElement("p");
    chosen.className = "picker-chosen muted";
    chosen.setAttribute("aria-live", "polite");
    var list = document.createElement("div");
    list.className = "picker-list";
    list.id = id;
    list.setAttribute("role", "group");

    function addOption(option, parent) {
      var label = document.createElement("label");
      label.className = "picker-option";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = option.selected;
      box.disabled = option.disabled;
      box.addEventListener("change", function () {
        option.selected = box.checked;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        summarise();
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + option.textContent.trim()));
      label.dataset.text = (option.textContent + " " + option.value + " " + (parent ? parent.label : "")).toLowerCase();
      return label;
    }

    Array.prototype.forEach.call(select.children, function (child) {
      if (child.tagName === "OPTGROUP") {
        var group = document.createElement("fieldset");
        group.className = "picker-group";
        var legend = document.createElement("legend");
        legend.textContent = child.label;
        group.appendChild(legend);
        Array.prototype.forEach.call(child.children, function (option) { group.appendChild(addOption(option, child)); });
        list.appendChild(group);
      } else if (child.tagName === "OPTION" && child.value !== "") {
        list.appendChild(addOption(child, null));
      }
    });

    function summarise() {
      var names = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
        .map(function (o) { return o.textContent.trim(); });
      chosen.textContent = names.length ? names.length + " chosen: " + names.join(", ") : "None chosen";
    }

    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(list.querySelectorAll(".picker-option"), function (label) {
        var text = label.dataset.text;
        label.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
      Array.prototype.forEach.call(list.querySelectorAll(".picker-group"), function (group) {
        group.hidden = !group.querySelector(".picker-option:not([hidden])");
      });
    });

    box.appendChild(search);
    box.appendChild(list);
    box.appendChild(chosen);
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.parentNode.insertBefore(box, select.nextSibling);
    summarise();
  }

  function enhanceAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select[multiple][data-picker]"), enhance);
  }
  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhanceAll(event.target); });
})();
