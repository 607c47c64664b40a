# dotation: API, worker and scheduler share this image (the command differs).
FROM node:20-bookworm-slim
# gdal-bin: ogr2ogr reads GeoPackage, Shapefile, FlatGeobuf and reprojects (IRIS, QPV, IGN contours);
# p7zip-full: 7z opens IGN's .7z archives. Without them those inputs fail with "install gdal-bin/p7zip-full".
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin p7zip-full \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# .dsfr.yml: @gouvfr/dsfr installs only once its terms of use are accepted (README, "The public site").
COPY package.json package-lock.json .dsfr.yml ./
# tsx runs the TypeScript sources directly: no build step; dev dependencies are not needed at run time.
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY config ./config
COPY pipelines ./pipelines
COPY sql ./sql
COPY src ./src
COPY docs ./docs
COPY README.md ./
RUN mkdir -p /app/var/data /app/var/packs && chown -R node:node /app/var
USER node
ENV HOST=0.0.0.0 PORT=3000 PACKS_DIR=/app/var/packs DATA_DIR=/app/var/data
EXPOSE 3000
# Liveness of the API (the worker and scheduler override it in docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/dotation.js"]
CMD ["serve"]
