// The smart factory hotline's web chat on a centre's website. Paste where the page ends:
//   <script src="https://HOTLINE-HOST/chat/embed.js" data-centre="gyeongnam" async></script>
// A button opens the chat in a panel (an iframe of /chat); on a phone it opens the chat page itself.
// data-centre (a centre code or its Korean name) tells the chat which centre's website it is on.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hotlineChat) { return; }
  window.__hotlineChat = true;
  var origin = new URL(script.src, window.location.href).origin;
  var centre = script.getAttribute("data-centre") || "";
  var label = script.getAttribute("data-label") || "💬 스마트공장 상담";
  var url = origin + "/chat" + (centre ? "?centre=" + encodeURIComponent(centre) : "");
  var panel = null;

  function style(element, values) {
    Object.keys(values).forEach(function (name) { element.style[name] = values[name]; });
  }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.className = "hotline-chat-button";
  style(button, { position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483000", padding: "12px 18px",
                  border: "0", borderRadius: "24px", background: "#1f4e8c", color: "#fff", fontSize: "16px",
                  fontWeight: "700", boxShadow: "0 4px 12px rgba(0,0,0,.25)", cursor: "pointer" });

  function toggle() {
    if (window.matchMedia("(max-width: 600px)").matches) {  // a phone: the whole screen is the chat
      window.open(url, "_blank", "noopener");
      return;
    }
    if (!panel) {
      panel = document.createElement("iframe");
      panel.src = url;
      panel.title = "스마트공장 상담 채팅";
      panel.className = "hotline-chat-panel";
      style(panel, { position: "fixed", right: "20px", bottom: "80px", width: "380px", height: "600px",
                     maxHeight: "calc(100vh - 100px)", border: "0", borderRadius: "14px", background: "#fff",
                     boxShadow: "0 8px 28px rgba(0,0,0,.3)", zIndex: "2147483000" });
      document.body.appendChild(panel);
    } else {
      panel.hidden = !panel.hidden;
    }
    button.setAttribute("aria-expanded", String(!panel.hidden));
  }

  button.addEventListener("click", toggle);
  document.body.appendChild(button);
})();
