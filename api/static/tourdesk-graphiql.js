// tourdesk's GraphiQL page: GraphiQL with a sign-in bar above it and an Examples pane.
//
// Runs after the UMD bundles of React, ReactDOM and GraphiQL 3, which define window.React,
// window.ReactDOM and window.GraphiQL. The server puts the page's settings (the sign-in form's
// initial values and the example documents) into the JSON element #tourdesk-graphiql-config.
"use strict";

(function () {
  const h = React.createElement;
  const config = JSON.parse(document.getElementById("tourdesk-graphiql-config").textContent);

  // The page is served by the GraphQL endpoint itself, so its URL without the query string is the
  // endpoint's, also behind a path prefix.
  const endpoint = new URL(window.location.pathname, window.location.href);
  const subscriptionEndpoint = new URL(endpoint);
  subscriptionEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { token user { email organization { name } } errors { message } }
}`;
  const LOGOUT = "mutation Logout { logout { revoked } }";

  // Kept outside React, so that the one fetcher GraphiQL gets always reads the current token.
  let token = null;

  const graphiqlFetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptionEndpoint.href,
  });

  // Adds the signed-in token to every operation; over a WebSocket, GraphiQL sends these headers
  // as the connection_init payload. A tab whose headers set Authorization keeps its own.
  function fetcher(params, options) {
    const tabHeaders = (options && options.headers) || {};
    const tabSetsAuthorization = Object.keys(tabHeaders).some(
      (name) => name.toLowerCase() === "authorization",
    );
    const headers = Object.assign(
      {},
      token && !tabSetsAuthorization ? { Authorization: "Bearer " + token } : {},
      tabHeaders,
    );
    return graphiqlFetcher(params, Object.assign({}, options, { headers }));
  }

  // Runs one operation outside GraphiQL and returns its data, or throws with the errors' messages.
  async function post(query, variables, bearerToken) {
    const headers = { "content-type": "application/json", accept: "application/json" };
    if (bearerToken) {
      headers.Authorization = "Bearer " + bearerToken;
    }
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json().catch(() => null);
    if (!body || !body.data) {
      const messages = body && body.errors ? body.errors.map((error) => error.message) : [];
      throw new Error(messages.join(" ") || `HTTP ${response.status}`);
    }
    return body.data;
  }

  function SignInBar() {
    const [email, setEmail] = React.useState(config.signIn.email);
    const [password, setPassword] = React.useState(config.signIn.password);
    const [status, setStatus] = React.useState("Not signed in.");
    const [signedIn, setSignedIn] = React.useState(false);
    const [busy, setBusy] = React.useState(false);

    async function signIn(event) {
      event.preventDefault();
      setBusy(true);
      try {
        const data = await post(LOGIN, { input: { email, password } });
        if (data.login.errors.length) {
          throw new Error(data.login.errors.map((error) => error.message).join(" "));
        }
        token = data.login.token;
        const user = data.login.user;
        setSignedIn(true);
        setStatus(`Signed in as ${user.email} (${user.organization.name}).`);
      } catch (error) {
        setStatus(`Sign-in failed: ${error.message}`);
      } finally {
        setBusy(false);
      }
    }

    async function signOut() {
      setBusy(true);
      try {
        await post(LOGOUT, null, token);
        setStatus("Signed out.");
      } catch (error) {
        setStatus(`Signed out here; revoking the token failed: ${error.message}`);
      } finally {
        token = null;
        setSignedIn(false);
        setBusy(false);
      }
    }

    return h(
      "form",
      { className: "tourdesk-bar", onSubmit: signIn, "aria-label": "Sign in" },
      h("strong", null, "tourdesk"),
      h(
        "label",
        null,
        "Email ",
        h("input", {
          type: "email",
          name: "email",
          value: email,
          autoComplete: "username",
          onChange: (event) => setEmail(event.target.value),
        }),
      ),
      h(
        "label",
        null,
        "Password ",
        h("input", {
          type: "password",
          name: "password",
          value: password,
          autoComplete: "current-password",
          onChange: (event) => setPassword(event.target.value),
        }),
      ),
      h("button", { type: "submit", disabled: busy }, "Sign in"),
      signedIn && h("button", { type: "button", disabled: busy, onClick: signOut }, "Sign out"),
      h("span", { className: "tourdesk-status", role: "status" }, status),
      h(
        "span",
        { className: "tourdesk-hint" },
        "Every tab sends the token as Authorization: Bearer, unless its headers set another.",
      ),
    );
  }

  function ExamplesIcon() {
    return h(
      "svg",
      { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 1.5 },
      h("path", { d: "M5 4h10l4 4v12H5z M15 4v4h4 M8 12h8 M8 16h8" }),
    );
  }

  // Loads an example into the current tab's query and variables editors.
  function ExamplesPane() {
    const editors = GraphiQL.React.useEditorContext({ nonNull: true });

    function load(example) {
      editors.queryEditor.setValue(example.query);
      if (editors.variableEditor) {
        editors.variableEditor.setValue(example.variables);
      }
    }

    return h(
      "section",
      { className: "tourdesk-examples" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Examples"),
      h("p", null, "Load a saved document into the current tab, then run it."),
      h(
        "ul",
        null,
        config.examples.map((example) =>
          h(
            "li",
            { key: example.title },
            h("button", { type: "button", onClick: () => load(example) }, example.title),
            h("p", null, example.description),
          ),
        ),
      ),
    );
  }

  const EXAMPLES_PLUGIN = { title: "Examples", icon: ExamplesIcon, content: ExamplesPane };
  const PLUGINS = [EXAMPLES_PLUGIN];
  // Shown on a first visit; GraphiQL keeps the tabs in local storage after that.
  const DEFAULT_TABS = config.examples.map((example) => ({
    query: example.query,
    variables: example.variables,
  }));

  function Page() {
    return h(
      "div",
      { className: "tourdesk-page" },
      h(SignInBar),
      h(
        "div",
        { className: "tourdesk-graphiql" },
        h(GraphiQL, {
          fetcher,
          defaultTabs: DEFAULT_TABS,
          plugins: PLUGINS,
          visiblePlugin: EXAMPLES_PLUGIN,
          defaultEditorToolsVisibility: "variables",
        }),
      ),
    );
  }

  ReactDOM.createRoot(document.getElementById("tourdesk-graphiql")).render(h(Page));
})();
