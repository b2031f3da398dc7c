"""Server-rendered pages: Jinja2 templates, HTMX partial updates and Plotly charts."""
