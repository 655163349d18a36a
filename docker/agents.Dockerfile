# Agents sandbox image: the six agent CLIs at the versions the adapters pin (agents/install.py;
# tests/test_agents.py checks the two agree), with what the scoring image has for the law.
# Python 3.12: OpenHands needs >= 3.12, Aider <= 3.12. Node.js 20: Gemini CLI needs >= 20.
# Build: docker build -f docker/agents.Dockerfile -t sldbench-agents docker/
FROM node:20-bookworm-slim AS node

FROM python:3.12-slim-bookworm
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update && apt-get install -y --no-install-recommends ca-certificates git procps \
    && rm -rf /var/lib/apt/lists/*

# The libraries a submitted law may use (as in scoring.Dockerfile).
RUN pip install --no-cache-dir numpy scipy pandas

# PyPI CLIs each in its own venv (their pinned dependencies conflict); only the launchers go on PATH.
RUN python -m venv /opt/agents/aider && /opt/agents/aider/bin/pip install --no-cache-dir aider-chat==0.86.2 \
    && python -m venv /opt/agents/openhands && /opt/agents/openhands/bin/pip install --no-cache-dir openhands==1.16.0 \
    && ln -s /opt/agents/aider/bin/aider /opt/agents/openhands/bin/openhands /usr/local/bin/

# npm CLIs; Goose's package installs the binary as goose-binary-linux-x64.
RUN npm install -g --no-audit --no-fund \
        @openai/codex@0.169.0 \
        @anthropic-ai/claude-code@2.1.197 \
        @google/gemini-cli@0.61.0 \
        @aaif/goose-binary-linux-x64@1.52.0 \
    && ln -s goose-binary-linux-x64 /usr/local/bin/goose

RUN useradd --create-home --uid 1000 sld
USER sld
WORKDIR /home/sld/work
