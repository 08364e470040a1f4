// The web chat page: consent, then the conversation through the web chat API, live messages by server-sent events.
(function () {
  "use strict";
  var API = "/api/v1/channels/web";
  var body = document.body;
  var log = document.getElementById("log");
  var consent = document.getElementById("consent");
  var composer = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var notice = document.getElementById("notice");
  var statusButton = document.getElementById("menu-status");
  var shown = new Set();
  var busy = false;
  var events = null;

  function key() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function call(method, path, payload) {
    var options = { method: method, credentials: "same-origin", headers: { "X-Hotline-Chat": "1" } };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(API + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.detail || "요청을 처리하지 못했어요.");
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function shortUrl(url) {
    var shown = url;
    try { shown = decodeURI(url); } catch (e) { /* keep it as it is */ }
    shown = shown.replace(/^https?:\/\//, "");
    return shown.length > 48 ? shown.slice(0, 45) + "…" : shown;
  }

  function linkified(text, into) {
    var pattern = /https?:\/\/[^\s)]+/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      into.appendChild(document.createTextNode(text.slice(last, match.index)));
      var a = document.createElement("a");
      a.href = match[0];
      a.textContent = shortUrl(match[0]);
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      into.appendChild(a);
      last = match.index + match[0].length;
    }
    into.appendChild(document.createTextNode(text.slice(last)));
  }

  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function render(item) {
    if (shown.has(item.id)) { return; }
    shown.add(item.id);
    var wrap = document.createElement("div");
    wrap.className = "msg " + (item.mine ? "me" : "bot");
    wrap.dataset.id = item.id;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    linkified(item.text, bubble);
    wrap.appendChild(bubble);
    var rows = item.buttons || [];
    if (rows.length) {
      var buttons = document.createElement("div");
      buttons.className = "buttons";
      rows.forEach(function (row) {
        row.forEach(function (b) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = b.text;
          button.addEventListener("click", function () { press(buttons, button, b); });
          buttons.appendChild(button);
        });
      });
      wrap.appendChild(buttons);
    }
    var time = document.createElement("span");
    time.className = "time";
    time.textContent = clock(item.at);
    wrap.appendChild(time);
    log.appendChild(wrap);
    log.scrollTop = log.scrollHeight;
  }

  function renderAll(data) {
    (data.messages || []).forEach(render);
  }

  function post(payload, attempt) {
    busy = true;
    sendButton.disabled = true;
    return call("POST", "/messages", payload).then(function (data) {
      say("");
      renderAll(data);
    }).catch(function (error) {
      if (!error.status && attempt < 3) {  // the network: the same key again, so nothing is done twice
        return new Promise(function (resolve) { setTimeout(resolve, 800 * (attempt + 1)); })
          .then(function () { return post(payload, attempt + 1); });
      }
      if (error.status === 401) { say("상담 연결이 끊겼어요. 페이지를 새로 고쳐 주세요."); }
      else { say(error.message || "보내지 못했어요. 잠시 후 다시 시도해 주세요."); }
      throw error;
    }).finally(function () {
      busy = false;
      sendButton.disabled = false;
    });
  }

  function press(group, button, b) {
    if (busy) { return; }
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (other) { other.disabled = true; });
    button.classList.add("chosen");
    post({ key: key(), button: b.data, label: b.text }, 0).catch(function () {
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (other) { other.disabled = false; });
      button.classList.remove("chosen");
    });
  }

  function sendText(event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) { return; }
    input.value = "";
    post({ key: key(), text: text }, 0).catch(function () { input.value = text; });
  }

  function listen() {
    if (!window.EventSource || events) { return; }
    events = new EventSource(API + "/events");
    events.addEventListener("message", function (event) {
      try { render(JSON.parse(event.data)); } catch (e) { /* a malformed event: the history has it */ }
    });
  }

  function open() {
    consent.hidden = true;
    composer.hidden = false;
    statusButton.hidden = false;
    input.focus();
    listen();
  }

  function resume() {
    call("GET", "/history").then(function (data) {
      renderAll(data);
      open();
    }).catch(function (error) {
      if (error.status === 401) {  // the session is gone (expired, or forgotten): ask again
        consent.hidden = false;
        composer.hidden = true;
      } else {
        say(error.message);
      }
    });
  }

  document.getElementById("agree").addEventListener("click", function () {
    call("POST", "/session", { consent: true, centre: body.dataset.centre || null }).then(function (data) {
      renderAll(data);
      open();
    }).catch(function (error) { say(error.message); });
  });
  document.getElementById("disagree").addEventListener("click", function () {
    document.getElementById("declined").hidden = false;
  });
  statusButton.addEventListener("click", function () {
    if (!busy) { post({ key: key(), button: "status", label: "📋 처리 상황" }, 0).catch(function () {}); }
  });
  composer.addEventListener("submit", sendText);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { sendText(event); }
  });
  if (body.dataset.session === "yes") { resume(); }
})();
