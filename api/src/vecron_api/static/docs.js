// Renders the API reference from the served OpenAPI document (inline scripts are
// forbidden by the page's Content-Security-Policy).
Redoc.init("openapi.json", { hideDownloadButton: false, expandResponses: "200,201,202" },
  document.getElementById("reference"));
