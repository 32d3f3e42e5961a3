// Orgata's interactive API documentation: Swagger UI on the server's own OpenAPI document.
// Everything is served by the binary; `validatorUrl: null` keeps Swagger UI from calling its
// public validator, so the page makes no request outside this server.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    filter: true,
    validatorUrl: null,
  });
});
