# Agents sandbox image: the scoring image plus the agent CLIs at the versions the adapters pin
# (agents/install.py), Node.js 20 for the npm CLIs, the interpreters the PyPI CLIs need, and
# tmux (Terminus-2's terminal). Build with docker/build.sh agents: it writes the context
# (agents.tar, traverse.txt, debs/) with python -m sldbench.agents.image; nothing here needs
# an image registry or the network.
ARG BASE=sldbench-scoring
FROM ${BASE}
USER root
COPY debs/ /tmp/debs/
RUN if ls /tmp/debs/*.deb >/dev/null 2>&1; then dpkg -i /tmp/debs/*.deb; fi && rm -rf /tmp/debs
ADD agents.tar /
COPY traverse.txt versions.json /opt/sldbench/
# the sandbox's user must be able to reach interpreters copied under folders such as /root
RUN while read -r folder; do chmod o+x "$folder"; done < /opt/sldbench/traverse.txt
ENV PATH=/opt/sldbench/agents/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER sld
WORKDIR /home/sld/work
