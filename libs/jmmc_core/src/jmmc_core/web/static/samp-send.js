// "Send to TOPCAT / Aladin": VOTables offered to SAMP clients through the SAMP Web Profile,
// the way JMMC tools exchange tables, with sampjs (samp.js beside this file).
//
// Markup (the macros of jmmc/samp.html):
//   <body data-samp-hub="http://localhost:21012/">   the hub's Web Profile URL (a setting)
//   <button class="samp-send" data-votable-url="…" data-table-name="…">
//   <span class="samp-status" role="status">          what happened, next to the button
//
// The page registers with the hub on the first click (the hub asks the user to accept) and
// keeps that registration until the page is left, so one page asks only once.
(function () {
  "use strict";

  const STANDARD_HUB = "http://localhost:21012/";
  const MTYPE = "table.load.votable";
  const APPLICATION = { "samp.name": document.title || "JMMC data services" };
  const sampScript = new URL("samp.js", document.currentScript.src).href;

  let sampLoaded = null;
  let connection = null;

  // samp.js is a CommonJS module: evaluated once with a module object of its own.
  function loadSamp() {
    if (!sampLoaded) {
      sampLoaded = fetch(sampScript)
        .then((response) => {
          if (!response.ok) throw new Error(`${sampScript}: ${response.status}`);
          return response.text();
        })
        .then((source) => {
          const module = { exports: {} };
          new Function("module", "exports", source)(module, module.exports);
          return module.exports.samp;
        });
    }
    return sampLoaded;
  }

  function hubUrl() {
    return document.body.dataset.sampHub || STANDARD_HUB;
  }

  // A hub error is an XML-RPC fault (faultString) or a failed request (an Error).
  function describe(error) {
    return (error && (error.faultString || error.message)) || String(error);
  }

  // sampjs's own register() always talks to the standard port: the client here names the hub.
  function register(samp) {
    return new Promise((resolve, reject) => {
      const client = new samp.XmlRpcClient(hubUrl());
      const request = new samp.XmlRpcRequest("samp.webhub.register");
      request.addParam(APPLICATION);
      client.execute(
        request,
        (registration) => {
          const registered = new samp.Connection(registration);
          registered.xClient = client;
          registered.declareMetadata([APPLICATION], () => resolve(registered), reject);
        },
        (error) => reject(new HubError(error)),
      );
    });
  }

  class HubError extends Error {
    constructor(cause) {
      super(describe(cause));
      // No answer at all (no fault from a hub): nothing listens at the hub's address.
      this.unreachable = !(cause && cause.faultString);
    }
  }

  function call(target, method, args) {
    return new Promise((resolve, reject) => target[method](args, resolve, reject));
  }

  async function connected(samp) {
    if (connection) {
      try {
        await call(connection, "getRegisteredClients", []);
        return connection;
      } catch {
        connection = null; // the hub went away or restarted: register again
      }
    }
    connection = await register(samp);
    return connection;
  }

  async function send(button, status) {
    const samp = await loadSamp();
    const hub = await connected(samp);
    const params = {
      url: new URL(button.dataset.votableUrl, document.baseURI).href,
      name: button.dataset.tableName || "table",
    };
    const recipients = await call(hub, "notifyAll", [new samp.Message(MTYPE, params)]);
    if (!recipients.length) {
      status.textContent =
        "No application connected to the SAMP hub loads tables: start TOPCAT or Aladin.";
      return;
    }
    const names = await Promise.all(
      recipients.map((id) =>
        call(hub, "getMetadata", [id]).then((meta) => meta["samp.name"] || id, () => id),
      ),
    );
    status.textContent = `Sent to ${names.join(", ")}.`;
  }

  function statusOf(button) {
    const next = button.nextElementSibling;
    if (next && next.classList.contains("samp-status")) return next;
    const status = document.createElement("span");
    status.className = "samp-status";
    status.setAttribute("role", "status");
    button.after(status);
    return status;
  }

  async function onClick(event) {
    const button = event.currentTarget;
    const status = statusOf(button);
    button.disabled = true;
    status.className = "samp-status";
    status.textContent = "Sending…";
    try {
      await send(button, status);
    } catch (error) {
      status.className = "samp-status error";
      status.textContent =
        error instanceof HubError && error.unreachable
          ? `No SAMP hub answers at ${hubUrl()}: start TOPCAT or Aladin (each runs one), ` +
            "then try again."
          : `The SAMP hub did not take the table: ${describe(error)}`;
    } finally {
      button.disabled = false;
    }
  }

  function unregister() {
    if (connection) connection.close();
    connection = null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("button.samp-send")) {
      button.addEventListener("click", onClick);
    }
  });
  window.addEventListener("pagehide", unregister);
})();
